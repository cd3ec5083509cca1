package org.lowbit4j.mixedprec.fp8;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.lowbit4j.autograd.formats.Fp8;

/**
 * Bulk kernels of scaled FP8 fake quantization over fp32 memory: the absolute maximum of a tensor, and
 * {@code y = fp8(x * scale) * (1 / scale)} in one pass without materializing the codes.
 *
 * <p>The rounding is bit-identical to {@code Fp8.decode(Fp8.encode(x * scale, true)) * scaleInv} with
 * the {@link Fp8} codec (round to nearest, ties to even; saturating: magnitudes that round above the
 * format's max, infinities included, become ±max; NaN stays NaN). It works on the fp32 bits directly:
 * normal results round the fp32 mantissa to the format's mantissa width, subnormal results round by
 * adding and subtracting a constant whose ulp is the format's subnormal step.
 *
 * <p>Each vector kernel has a scalar twin with the same name plus {@code Scalar}; tests compare them.
 */
public final class Fp8Kernels {
    // NOTE: the JVM-wide float width (as autograd.formats and the engine's kernels): mixing 256- and 512-bit
    // vectors in one JVM sends the shared vector-store intrinsics to their slow path.
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    private static final int LANES = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final int CANONICAL_NAN = 0x7FC00000;

    private Fp8Kernels() {
    }

    /** The bit constants of one FP8 format's rounding on fp32 bits. */
    private record Rounding(int dropBits, int minNormalBits, float magic, int maxBits) {
        static Rounding of(Fp8 format) {
            int mantissa = format == Fp8.E4M3FN ? 3 : 2;
            int minNormalExp = format == Fp8.E4M3FN ? -6 : -14;
            return new Rounding(23 - mantissa, Float.floatToRawIntBits(Math.scalb(1f, minNormalExp)),
                    Math.scalb(1f, minNormalExp - mantissa + 23), Float.floatToRawIntBits(format.max()));
        }

        /** @return the rounded magnitude bits of a non-negative, non-NaN fp32 bit pattern {@code a} */
        int round(int a) {
            int r;
            if (a < minNormalBits) {
                r = Float.floatToRawIntBits(Float.intBitsToFloat(a) + magic - magic);
            } else {
                r = (a + ((a >>> dropBits) & 1) + ((1 << (dropBits - 1)) - 1)) & -(1 << dropBits);
            }
            return Math.min(r, maxBits);
        }
    }

    /**
     * The largest magnitude among n fp32 values. NaNs are ignored (as CUDA's {@code fmaxf} in Transformer
     * Engine's amax kernels); infinities count.
     *
     * @param src n little-endian fp32 values
     * @return max |x_i| (0 for n = 0 or all-NaN input; +infinity if any value is infinite)
     * @throws IllegalArgumentException if the segment is too small
     */
    public static float amax(MemorySegment src, long n) {
        check("amax", src, n, src, n);
        var acc0 = FloatVector.zero(F);
        var acc1 = FloatVector.zero(F);
        long i = 0;
        // two accumulators; a lane takes x only where x > acc, so NaN lanes (compare false) are left out
        for (; i <= n - 2 * LANES; i += 2 * LANES) {
            var x0 = FloatVector.fromMemorySegment(F, src, i * 4, LE).abs();
            var x1 = FloatVector.fromMemorySegment(F, src, (i + LANES) * 4, LE).abs();
            acc0 = acc0.blend(x0, x0.compare(VectorOperators.GT, acc0));
            acc1 = acc1.blend(x1, x1.compare(VectorOperators.GT, acc1));
        }
        float m = acc0.max(acc1).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            float a = Math.abs(src.get(LE_FLOAT, i * 4));
            if (a > m) {
                m = a;
            }
        }
        return m;
    }

    /** Scalar twin of {@link #amax(MemorySegment, long)}. */
    public static float amaxScalar(MemorySegment src, long n) {
        check("amax", src, n, src, n);
        float m = 0f;
        for (long i = 0; i < n; i++) {
            float a = Math.abs(src.get(LE_FLOAT, i * 4));
            if (a > m) { // NaN compares false
                m = a;
            }
        }
        return m;
    }

    /**
     * Scaled fake quantization: {@code dst[i] = round_fp8(src[i] * scale) * scaleInv}, where round_fp8
     * saturates to ±max. {@code dst} may be {@code src} (in place).
     *
     * @param format E4M3FN or E5M2
     * @param src n little-endian fp32 values
     * @param dst receives n little-endian fp32 values
     * @param scale multiplies the values before rounding (normally FP8_MAX / amax)
     * @param scaleInv multiplies the rounded values (normally 1 / scale)
     * @throws IllegalArgumentException if a segment is too small
     */
    public static void quantizeDequantize(Fp8 format, MemorySegment src, MemorySegment dst, long n, float scale,
            float scaleInv) {
        check("quantizeDequantize", src, n, dst, n);
        Rounding r = Rounding.of(format);
        int drop = r.dropBits();
        int bias = (1 << (drop - 1)) - 1;
        int keep = -(1 << drop);
        long i = 0;
        for (; i <= n - LANES; i += LANES) {
            var x = FloatVector.fromMemorySegment(F, src, i * 4, LE).mul(scale);
            IntVector b = x.reinterpretAsInts();
            IntVector a = b.and(0x7FFFFFFF);
            IntVector normal = a.add(a.lanewise(VectorOperators.LSHR, drop).and(1)).add(bias).and(keep);
            IntVector sub = x.abs().add(r.magic()).sub(r.magic()).reinterpretAsInts();
            IntVector q = normal.blend(sub, a.compare(VectorOperators.LT, r.minNormalBits()));
            q = q.min(r.maxBits()).or(b.and(0x80000000));
            VectorMask<Integer> nan = a.compare(VectorOperators.GT, 0x7F800000);
            q.blend(CANONICAL_NAN, nan).reinterpretAsFloats().mul(scaleInv).intoMemorySegment(dst, i * 4, LE);
        }
        for (; i < n; i++) {
            dst.set(LE_FLOAT, i * 4, one(r, src.get(LE_FLOAT, i * 4), scale, scaleInv));
        }
    }

    /** Scalar twin of {@link #quantizeDequantize(Fp8, MemorySegment, MemorySegment, long, float, float)}. */
    public static void quantizeDequantizeScalar(Fp8 format, MemorySegment src, MemorySegment dst, long n,
            float scale, float scaleInv) {
        check("quantizeDequantize", src, n, dst, n);
        Rounding r = Rounding.of(format);
        for (long i = 0; i < n; i++) {
            dst.set(LE_FLOAT, i * 4, one(r, src.get(LE_FLOAT, i * 4), scale, scaleInv));
        }
    }

    /**
     * One value: {@code round_fp8(x * scale) * scaleInv}, saturating.
     *
     * @return the fake-quantized value (NaN for NaN)
     */
    public static float quantizeDequantize(Fp8 format, float x, float scale, float scaleInv) {
        return one(Rounding.of(format), x, scale, scaleInv);
    }

    private static float one(Rounding r, float x, float scale, float scaleInv) {
        float y = x * scale;
        int b = Float.floatToRawIntBits(y);
        int a = b & 0x7FFFFFFF;
        if (a > 0x7F800000) {
            return Float.NaN;
        }
        return Float.intBitsToFloat(r.round(a) | (b & 0x80000000)) * scaleInv;
    }

    private static void check(String what, MemorySegment src, long srcN, MemorySegment dst, long dstN) {
        if (srcN < 0 || srcN * 4 > src.byteSize() || dstN * 4 > dst.byteSize()) {
            throw new IllegalArgumentException(what + ": " + srcN + " fp32 values need " + srcN * 4
                    + " bytes, segments have " + src.byteSize() + " and " + dst.byteSize());
        }
    }
}
