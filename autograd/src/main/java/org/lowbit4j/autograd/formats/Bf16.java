package org.lowbit4j.autograd.formats;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * bfloat16: the top 16 bits of an fp32 (1 sign, 8 exponent, 7 mantissa bits). Encoding rounds to nearest,
 * ties to even, keeps subnormals and infinities, overflows to infinity, and maps NaN to a quiet NaN with the same
 * sign and the top payload bits ({@code (bits >>> 16) | 0x0040}). Decoding is exact.
 *
 * <p>Bulk kernels read fp32 and write bf16 as little-endian values in {@link MemorySegment}s. The rounding
 * kernels ({@link #round(MemorySegment, MemorySegment, long)}, {@link #roundInPlace}) stay in fp32: each value
 * becomes the fp32 value of its bf16 encoding, bit for bit {@code decode(encode(x))}, without the 2-byte buffer.
 */
public final class Bf16 {
    private Bf16() {
    }

    /** @return the bf16 bits of x (round to nearest even) */
    public static short encode(float x) {
        int b = Float.floatToRawIntBits(x);
        if ((b & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((b >>> 16) | 0x0040);
        }
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
    }

    /** @return the value of bf16 bits h (exact) */
    public static float decode(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /**
     * Encodes n fp32 values.
     *
     * @param src n little-endian fp32 values
     * @param dst receives n little-endian bf16 values
     * @throws IllegalArgumentException if a segment is too small
     */
    public static void encode(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("bf16 encode", src, 4, dst, 2, n);
        long i = 0;
        for (long head = Vec.alignHead(src, n); i < head; i++) {
            dst.set(Vec.LE_SHORT, i * 2, encode(src.get(Vec.LE_FLOAT, i * 4)));
        }
        int lanes = Vec.LANES;
        for (; i <= n - lanes; i += lanes) {
            var b = FloatVector.fromMemorySegment(Vec.F, src, i * 4, Vec.LE).reinterpretAsInts();
            var rounded = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7FFF)
                    .lanewise(VectorOperators.LSHR, 16);
            var nan = b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
            var h = rounded.blend(b.lanewise(VectorOperators.LSHR, 16).or(0x40), nan);
            ((ShortVector) h.convertShape(VectorOperators.I2S, Vec.S, 0)).intoMemorySegment(dst, i * 2, Vec.LE);
        }
        for (; i < n; i++) {
            dst.set(Vec.LE_SHORT, i * 2, encode(src.get(Vec.LE_FLOAT, i * 4)));
        }
    }

    /** Scalar twin of {@link #encode(MemorySegment, MemorySegment, long)}. */
    public static void encodeScalar(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("bf16 encode", src, 4, dst, 2, n);
        for (long i = 0; i < n; i++) {
            dst.set(Vec.LE_SHORT, i * 2, encode(src.get(Vec.LE_FLOAT, i * 4)));
        }
    }

    /**
     * Decodes n bf16 values.
     *
     * @param src n little-endian bf16 values
     * @param dst receives n little-endian fp32 values
     */
    public static void decode(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("bf16 decode", src, 2, dst, 4, n);
        long i = 0;
        for (long head = Vec.alignHead(dst, n); i < head; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, decode(src.get(Vec.LE_SHORT, i * 2)));
        }
        int lanes = Vec.LANES;
        for (; i <= n - lanes; i += lanes) {
            var h = (IntVector) ShortVector.fromMemorySegment(Vec.S, src, i * 2, Vec.LE)
                    .convertShape(VectorOperators.S2I, Vec.I, 0);
            h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(dst, i * 4, Vec.LE);
        }
        for (; i < n; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, decode(src.get(Vec.LE_SHORT, i * 2)));
        }
    }

    /** Scalar twin of {@link #decode(MemorySegment, MemorySegment, long)}. */
    public static void decodeScalar(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("bf16 decode", src, 2, dst, 4, n);
        for (long i = 0; i < n; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, decode(src.get(Vec.LE_SHORT, i * 2)));
        }
    }

    /** Array convenience: encodes {@code src[0, n)} into {@code dst[0, n)}. */
    public static void encode(float[] src, short[] dst, int n) {
        encode(MemorySegment.ofArray(src), MemorySegment.ofArray(dst), n);
    }

    /** Array convenience: decodes {@code src[0, n)} into {@code dst[0, n)}. */
    public static void decode(short[] src, float[] dst, int n) {
        decode(MemorySegment.ofArray(src), MemorySegment.ofArray(dst), n);
    }

    /**
     * @return x rounded to bf16 (nearest, ties to even) and widened back: bit for bit
     *     {@code decode(encode(x))}; infinities stay, NaN becomes the quiet NaN {@link #encode} gives
     */
    public static float round(float x) {
        int b = Float.floatToRawIntBits(x);
        if ((b & 0x7FFFFFFF) > 0x7F800000) {
            return Float.intBitsToFloat((b | 0x00400000) & 0xFFFF0000);
        }
        return Float.intBitsToFloat((b + 0x7FFF + ((b >>> 16) & 1)) & 0xFFFF0000);
    }

    /**
     * Rounds n fp32 values to bf16 precision, keeping them fp32 ({@link #round(float)} each).
     * src and dst may be the same segment (in place); other overlaps are not allowed.
     *
     * @param src n little-endian fp32 values
     * @param dst receives n little-endian fp32 values
     * @throws IllegalArgumentException if a segment is too small
     */
    public static void round(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("bf16 round", src, 4, dst, 4, n);
        long i = 0;
        for (long head = Vec.alignHead(dst, n); i < head; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, round(src.get(Vec.LE_FLOAT, i * 4)));
        }
        int lanes = Vec.LANES;
        for (; i <= n - lanes; i += lanes) {
            var b = FloatVector.fromMemorySegment(Vec.F, src, i * 4, Vec.LE).reinterpretAsInts();
            var rounded = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7FFF).and(0xFFFF0000);
            var nan = b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
            rounded.blend(b.or(0x00400000).and(0xFFFF0000), nan).reinterpretAsFloats()
                    .intoMemorySegment(dst, i * 4, Vec.LE);
        }
        for (; i < n; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, round(src.get(Vec.LE_FLOAT, i * 4)));
        }
    }

    /** Scalar twin of {@link #round(MemorySegment, MemorySegment, long)}. */
    public static void roundScalar(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("bf16 round", src, 4, dst, 4, n);
        for (long i = 0; i < n; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, round(src.get(Vec.LE_FLOAT, i * 4)));
        }
    }

    /**
     * Rounds every element of a FLOAT array to bf16 precision in place (the array stays FLOAT).
     * Arrays whose elements fill one block of memory (C order, F order, dense permutations) are
     * rounded on their native buffer directly; strided views go through a dense copy.
     *
     * @param floatArray any shape and layout; empty is fine
     * @throws IllegalArgumentException if the array is not FLOAT
     */
    public static void roundInPlace(INDArray floatArray) {
        if (floatArray == null || floatArray.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("bf16 roundInPlace: expected a FLOAT array, got "
                    + (floatArray == null ? "null" : floatArray.dataType()));
        }
        if (floatArray.isEmpty()) {
            return;
        }
        MemorySegment seg = DenseBlock.of(floatArray);
        if (seg != null) {
            DenseBlock.split(seg, 4, seg, 4, floatArray.length(), Bf16::round);
        } else {
            INDArray dense = floatArray.dup('c');
            MemorySegment d = DenseBlock.of(dense);
            round(d, d, dense.length());
            floatArray.assign(dense);
        }
    }

    /**
     * A rounded copy in one pass: reads x once and writes the bf16-rounded values into a new array (where
     * {@code x.dup()} followed by {@link #roundInPlace} would pass over the data twice).
     *
     * @param x a FLOAT array, any shape and layout; empty is fine
     * @return a new C-ordered FLOAT array of x's shape holding x rounded to bf16 precision
     * @throws IllegalArgumentException if x is not FLOAT
     */
    public static INDArray rounded(INDArray x) {
        return DenseBlock.roundedCopy(x, "bf16 rounded", Bf16::round);
    }

}
