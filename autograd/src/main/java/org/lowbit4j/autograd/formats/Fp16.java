package org.lowbit4j.autograd.formats;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * IEEE 754 binary16 (1 sign, 5 exponent, 10 mantissa bits, bias 15). Encoding rounds to nearest, ties to even,
 * with subnormals (down to 2^-24), overflow to infinity (from 65520 = max + half an ulp up), and NaN mapped to a
 * quiet NaN with the same sign and the top 9 payload bits. Decoding is exact.
 *
 * <p>Bulk kernels read and write little-endian values in {@link MemorySegment}s. The rounding kernels
 * ({@link #round(MemorySegment, MemorySegment, long)}, {@link #roundInPlace}) stay in fp32: each value becomes
 * the fp32 value of its binary16 encoding, bit for bit {@code decode(encode(x))}, without the 2-byte buffer.
 */
public final class Fp16 {
    /** Largest finite binary16, 65504. */
    public static final float MAX = 65504f;
    private static final int MAGIC_SUB = Float.floatToRawIntBits(0.5f);

    private Fp16() {
    }

    /** @return the binary16 bits of x (round to nearest even) */
    public static short encode(float x) {
        int b = Float.floatToRawIntBits(x);
        int sign = (b >>> 16) & 0x8000;
        int a = b & 0x7FFFFFFF;
        int h;
        if (a > 0x7F800000) {
            h = 0x7E00 | ((a >>> 13) & 0x1FF);
        } else if (a >= 0x477FF000) {
            h = 0x7C00;
        } else if (a < 0x38800000) {
            // NOTE: adding 0.5 (ulp 2^-24, the binary16 subnormal step) makes the FPU round to nearest even.
            h = Float.floatToRawIntBits(Float.intBitsToFloat(a) + 0.5f) - MAGIC_SUB;
        } else {
            h = (a + ((a >>> 13) & 1) + 0xFFF - 0x38000000) >>> 13;
        }
        return (short) (sign | h);
    }

    /** @return the value of binary16 bits h (exact) */
    public static float decode(short h) {
        int sign = (h & 0x8000) << 16;
        int em = h & 0x7FFF;
        if (em >= 0x7C00) {
            return Float.intBitsToFloat(sign | 0x7F800000 | ((em & 0x3FF) << 13));
        }
        if (em < 0x400) {
            float v = em * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((em << 13) + 0x38000000));
    }

    /**
     * Encodes n fp32 values.
     *
     * @param src n little-endian fp32 values
     * @param dst receives n little-endian binary16 values
     * @throws IllegalArgumentException if a segment is too small
     */
    public static void encode(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("fp16 encode", src, 4, dst, 2, n);
        long i = 0;
        for (long head = Vec.alignHead(src, n); i < head; i++) {
            dst.set(Vec.LE_SHORT, i * 2, encode(src.get(Vec.LE_FLOAT, i * 4)));
        }
        int lanes = Vec.LANES;
        for (; i <= n - lanes; i += lanes) {
            var x = FloatVector.fromMemorySegment(Vec.F, src, i * 4, Vec.LE);
            var b = x.reinterpretAsInts();
            var a = b.and(0x7FFFFFFF);
            var normal = a.add(a.lanewise(VectorOperators.LSHR, 13).and(1)).add(0xFFF - 0x38000000)
                    .lanewise(VectorOperators.LSHR, 13);
            var sub = x.abs().add(0.5f).reinterpretAsInts().sub(MAGIC_SUB);
            var h = normal.blend(sub, a.compare(VectorOperators.LT, 0x38800000))
                    .blend(0x7C00, a.compare(VectorOperators.GE, 0x477FF000))
                    .blend(a.lanewise(VectorOperators.LSHR, 13).and(0x1FF).or(0x7E00),
                            a.compare(VectorOperators.GT, 0x7F800000))
                    .or(b.lanewise(VectorOperators.LSHR, 16).and(0x8000));
            ((ShortVector) h.convertShape(VectorOperators.I2S, Vec.S, 0)).intoMemorySegment(dst, i * 2, Vec.LE);
        }
        for (; i < n; i++) {
            dst.set(Vec.LE_SHORT, i * 2, encode(src.get(Vec.LE_FLOAT, i * 4)));
        }
    }

    /** Scalar twin of {@link #encode(MemorySegment, MemorySegment, long)}. */
    public static void encodeScalar(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("fp16 encode", src, 4, dst, 2, n);
        for (long i = 0; i < n; i++) {
            dst.set(Vec.LE_SHORT, i * 2, encode(src.get(Vec.LE_FLOAT, i * 4)));
        }
    }

    /**
     * Decodes n binary16 values.
     *
     * @param src n little-endian binary16 values
     * @param dst receives n little-endian fp32 values
     */
    public static void decode(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("fp16 decode", src, 2, dst, 4, n);
        long i = 0;
        for (long head = Vec.alignHead(dst, n); i < head; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, decode(src.get(Vec.LE_SHORT, i * 2)));
        }
        int lanes = Vec.LANES;
        for (; i <= n - lanes; i += lanes) {
            var h = ((IntVector) ShortVector.fromMemorySegment(Vec.S, src, i * 2, Vec.LE)
                    .convertShape(VectorOperators.S2I, Vec.I, 0)).and(0xFFFF);
            var sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            var em = h.and(0x7FFF);
            var normal = em.lanewise(VectorOperators.LSHL, 13).add(0x38000000);
            var special = em.and(0x3FF).lanewise(VectorOperators.LSHL, 13).or(0x7F800000);
            var sub = ((FloatVector) em.convert(VectorOperators.I2F, 0)).mul(0x1p-24f).reinterpretAsInts();
            normal.blend(special, em.compare(VectorOperators.GE, 0x7C00))
                    .blend(sub, em.compare(VectorOperators.LT, 0x400))
                    .or(sign).reinterpretAsFloats().intoMemorySegment(dst, i * 4, Vec.LE);
        }
        for (; i < n; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, decode(src.get(Vec.LE_SHORT, i * 2)));
        }
    }

    /** Scalar twin of {@link #decode(MemorySegment, MemorySegment, long)}. */
    public static void decodeScalar(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("fp16 decode", src, 2, dst, 4, n);
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
     * @return x rounded to binary16 (nearest, ties to even) and widened back: bit for bit
     *     {@code decode(encode(x))}. Magnitudes from 65520 up become infinity, those below 2^-14 round to
     *     multiples of 2^-24 (subnormals), down to a zero of x's sign; NaN becomes the quiet NaN
     *     {@link #encode} gives (sign and top 9 payload bits kept)
     */
    public static float round(float x) {
        int b = Float.floatToRawIntBits(x);
        int sign = b & 0x80000000;
        int a = b & 0x7FFFFFFF;
        int r;
        if (a > 0x7F800000) {
            r = 0x7FC00000 | (a & 0x003FE000);
        } else if (a >= 0x477FF000) {
            r = 0x7F800000;
        } else if (a < 0x38800000) {
            // NOTE: below 2^-14 adding 0.5 (ulp 2^-24) rounds to the subnormal grid, nearest even; the
            // subtraction is exact.
            r = Float.floatToRawIntBits(Float.intBitsToFloat(a) + 0.5f - 0.5f);
        } else {
            // a carry out of the mantissa moves into the exponent, which is the correct rounding up
            r = (a + ((a >>> 13) & 1) + 0xFFF) & 0xFFFFE000;
        }
        return Float.intBitsToFloat(sign | r);
    }

    /**
     * Rounds n fp32 values to binary16 precision, keeping them fp32 ({@link #round(float)} each).
     * src and dst may be the same segment (in place); other overlaps are not allowed.
     *
     * @param src n little-endian fp32 values
     * @param dst receives n little-endian fp32 values
     * @throws IllegalArgumentException if a segment is too small
     */
    public static void round(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("fp16 round", src, 4, dst, 4, n);
        long i = 0;
        for (long head = Vec.alignHead(dst, n); i < head; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, round(src.get(Vec.LE_FLOAT, i * 4)));
        }
        int lanes = Vec.LANES;
        for (; i <= n - lanes; i += lanes) {
            var x = FloatVector.fromMemorySegment(Vec.F, src, i * 4, Vec.LE);
            var b = x.reinterpretAsInts();
            var a = b.and(0x7FFFFFFF);
            var normal = a.add(a.lanewise(VectorOperators.LSHR, 13).and(1)).add(0xFFF).and(0xFFFFE000);
            var sub = x.abs().add(0.5f).sub(0.5f).reinterpretAsInts();
            normal.blend(sub, a.compare(VectorOperators.LT, 0x38800000))
                    .blend(0x7F800000, a.compare(VectorOperators.GE, 0x477FF000))
                    .blend(a.and(0x003FE000).or(0x7FC00000), a.compare(VectorOperators.GT, 0x7F800000))
                    .or(b.and(0x80000000)).reinterpretAsFloats().intoMemorySegment(dst, i * 4, Vec.LE);
        }
        for (; i < n; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, round(src.get(Vec.LE_FLOAT, i * 4)));
        }
    }

    /** Scalar twin of {@link #round(MemorySegment, MemorySegment, long)}. */
    public static void roundScalar(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk("fp16 round", src, 4, dst, 4, n);
        for (long i = 0; i < n; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, round(src.get(Vec.LE_FLOAT, i * 4)));
        }
    }

    /**
     * Rounds every element of a FLOAT array to binary16 precision in place (the array stays FLOAT).
     * Arrays whose elements fill one block of memory (C order, F order, dense permutations) are
     * rounded on their native buffer directly; strided views go through a dense copy.
     *
     * @param floatArray any shape and layout; empty is fine
     * @throws IllegalArgumentException if the array is not FLOAT
     */
    public static void roundInPlace(INDArray floatArray) {
        if (floatArray == null || floatArray.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("fp16 roundInPlace: expected a FLOAT array, got "
                    + (floatArray == null ? "null" : floatArray.dataType()));
        }
        if (floatArray.isEmpty()) {
            return;
        }
        MemorySegment seg = DenseBlock.of(floatArray);
        if (seg != null) {
            DenseBlock.split(seg, 4, seg, 4, floatArray.length(), Fp16::round);
        } else {
            INDArray dense = floatArray.dup('c');
            MemorySegment d = DenseBlock.of(dense);
            round(d, d, dense.length());
            floatArray.assign(dense);
        }
    }

    /**
     * A rounded copy in one pass: reads x once and writes the binary16-rounded values into a new array (where
     * {@code x.dup()} followed by {@link #roundInPlace} would pass over the data twice).
     *
     * @param x a FLOAT array, any shape and layout; empty is fine
     * @return a new C-ordered FLOAT array of x's shape holding x rounded to binary16 precision
     * @throws IllegalArgumentException if x is not FLOAT
     */
    public static INDArray rounded(INDArray x) {
        return DenseBlock.roundedCopy(x, "fp16 rounded", Fp16::round);
    }

}
