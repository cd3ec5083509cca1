package org.lowbit4j.optim.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The two loops of gradient clipping: a sum of squares in a fixed order, and an in-place scaling.
 *
 * <p>{@link #sumSquares} of a chunk (at most {@link #CHUNK} floats): with m the largest |x| (an inf or NaN
 * element gives the plain double sum of squares, i.e. inf or NaN; all zeros give 0), every element is scaled by
 * the power of two {@code 2^k} that puts m in [2^31, 2^32), exactly (two float multiplications, by
 * {@code 2^(k/2)} then {@code 2^(k - k/2)}). Element i goes to accumulator {@code j = i mod 16}; each accumulator
 * is a pair of floats (S, C) that takes the exact square {@code y*y = p + e} ({@code e = fma(y, y, -p)}) by
 * Knuth's TwoSum into S, its rounding error and e into C; every 16 elements of a lane (256 elements), S then C are
 * added to the lane's double and the pair restarts at 0. The 16 doubles are added 0 to 15, then the exact double
 * squares of the last {@code n mod 16} elements in order, and the result is scaled back by {@code 2^(-2k)}
 * (exact). Relative error about 1e-14 against an exact sum; the result depends only on the values, not on the
 * vector width. {@link #sumSquaresScalar} is the scalar twin, bitwise equal.
 *
 * <p>NOTE: float vectors only, on purpose: double vectors (a conversion from float) in the same JVM made C2
 * box the vectors of the 8-bit and 4-bit AdamW loops (measured 2.3x slower steps), the profile pollution
 * described in Lanes.
 *
 * <p>Callers cut long arrays into chunks of {@link #CHUNK} elements and add the chunk sums in index order, so the
 * total is the same for any split of the chunks among threads.
 *
 * <p>{@link #scale}: {@code x[i] = x[i] * coef} in float32; {@link #scaleScalar} is its twin.
 */
public final class ClipKernel {
    /** Elements per chunk of a sum (a fixed order, independent of the threads): 16 KiB of floats. */
    public static final int CHUNK = 1 << 12;
    /** Accumulators of {@link #sumSquares}, independent of the vector width. */
    public static final int SUM_LANES = 16;
    /** Steps of 16 elements between the flushes of the float pairs into the doubles. */
    static final int STEPS_PER_FLUSH = 16;

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int EXP_MASK = 0x7F800000;

    private ClipKernel() {
    }

    /**
     * @param x float32 elements
     * @param from first element
     * @param n elements, 0..{@link #CHUNK}
     * @return the sum of {@code x[from + i]^2} for i in [0, n) by the algorithm of the class comment
     */
    public static double sumSquares(MemorySegment x, long from, int n) {
        int maxBits = maxAbsBits(x, from, n);
        if (maxBits == 0 || maxBits >= EXP_MASK) {
            return maxBits == 0 ? 0.0 : plainSum(x, from, n);
        }
        int k = scaleExponent(maxBits);
        float s1 = Math.scalb(1f, k / 2);
        float s2 = Math.scalb(1f, k - k / 2);
        double[] acc = new double[SUM_LANES];
        float[] flush = new float[2 * SUM_LANES];
        int full = n - n % SUM_LANES;
        // NOTE: everything inline in each loop body (see Lanes on boxing); one path per float width, the same
        // operations per logical lane.
        if (Lanes.LANES == 16) {
            for (int b = 0; b < full; b += SUM_LANES * STEPS_PER_FLUSH) {
                int end = Math.min(full, b + SUM_LANES * STEPS_PER_FLUSH);
                var sum = FloatVector.zero(Lanes.F);
                var err = FloatVector.zero(Lanes.F);
                for (int i = b; i < end; i += SUM_LANES) {
                    var y = FloatVector.fromMemorySegment(Lanes.F, x, 4 * (from + i), Lanes.ORDER).mul(s1).mul(s2);
                    var p = y.mul(y);
                    var e = y.lanewise(VectorOperators.FMA, y, p.neg());
                    var t = sum.add(p);
                    var z = t.sub(sum);
                    var r = sum.sub(t.sub(z)).add(p.sub(z));
                    sum = t;
                    err = err.add(r.add(e));
                }
                sum.intoArray(flush, 0);
                err.intoArray(flush, SUM_LANES);
                flush(acc, flush);
            }
        } else {
            for (int b = 0; b < full; b += SUM_LANES * STEPS_PER_FLUSH) {
                int end = Math.min(full, b + SUM_LANES * STEPS_PER_FLUSH);
                var sum0 = FloatVector.zero(Lanes.F);
                var err0 = FloatVector.zero(Lanes.F);
                var sum1 = FloatVector.zero(Lanes.F);
                var err1 = FloatVector.zero(Lanes.F);
                for (int i = b; i < end; i += SUM_LANES) {
                    var y0 = FloatVector.fromMemorySegment(Lanes.F, x, 4 * (from + i), Lanes.ORDER).mul(s1).mul(s2);
                    var y1 = FloatVector.fromMemorySegment(Lanes.F, x, 4 * (from + i + 8), Lanes.ORDER).mul(s1)
                            .mul(s2);
                    var p0 = y0.mul(y0);
                    var p1 = y1.mul(y1);
                    var e0 = y0.lanewise(VectorOperators.FMA, y0, p0.neg());
                    var e1 = y1.lanewise(VectorOperators.FMA, y1, p1.neg());
                    var t0 = sum0.add(p0);
                    var t1 = sum1.add(p1);
                    var z0 = t0.sub(sum0);
                    var z1 = t1.sub(sum1);
                    var r0 = sum0.sub(t0.sub(z0)).add(p0.sub(z0));
                    var r1 = sum1.sub(t1.sub(z1)).add(p1.sub(z1));
                    sum0 = t0;
                    sum1 = t1;
                    err0 = err0.add(r0.add(e0));
                    err1 = err1.add(r1.add(e1));
                }
                sum0.intoArray(flush, 0);
                sum1.intoArray(flush, 8);
                err0.intoArray(flush, SUM_LANES);
                err1.intoArray(flush, SUM_LANES + 8);
                flush(acc, flush);
            }
        }
        return finish(acc, x, from, full, n, s1, s2, k);
    }

    /** Scalar twin of {@link #sumSquares}: the same operations in the same order. */
    public static double sumSquaresScalar(MemorySegment x, long from, int n) {
        int maxBits = 0;
        for (int i = 0; i < n; i++) {
            maxBits = Integer.compareUnsigned(maxBits, absBits(x, from + i)) >= 0 ? maxBits : absBits(x, from + i);
        }
        if (maxBits == 0 || maxBits >= EXP_MASK) {
            return maxBits == 0 ? 0.0 : plainSum(x, from, n);
        }
        int k = scaleExponent(maxBits);
        float s1 = Math.scalb(1f, k / 2);
        float s2 = Math.scalb(1f, k - k / 2);
        double[] acc = new double[SUM_LANES];
        float[] flush = new float[2 * SUM_LANES];
        int full = n - n % SUM_LANES;
        for (int b = 0; b < full; b += SUM_LANES * STEPS_PER_FLUSH) {
            int end = Math.min(full, b + SUM_LANES * STEPS_PER_FLUSH);
            java.util.Arrays.fill(flush, 0f);
            for (int i = b; i < end; i++) {
                int j = (i - b) % SUM_LANES;
                float y = x.getAtIndex(FLOAT, from + i) * s1 * s2;
                float p = y * y;
                float e = Math.fma(y, y, -p);
                float sum = flush[j];
                float t = sum + p;
                float z = t - sum;
                float r = (sum - (t - z)) + (p - z);
                flush[j] = t;
                flush[SUM_LANES + j] = flush[SUM_LANES + j] + (r + e);
            }
            flush(acc, flush);
        }
        return finish(acc, x, from, full, n, s1, s2, k);
    }

    /** {@code acc[j] += pairs[j]; acc[j] += pairs[16 + j]} (the float sum, then its error). */
    private static void flush(double[] acc, float[] pairs) {
        for (int j = 0; j < SUM_LANES; j++) {
            acc[j] += pairs[j];
            acc[j] += pairs[SUM_LANES + j];
        }
    }

    /** The accumulators added 0 to 15, the exact squares of elements [full, n) in order, scaled back. */
    private static double finish(double[] acc, MemorySegment x, long from, int full, int n, float s1, float s2,
            int k) {
        double s = 0;
        for (double a : acc) {
            s += a;
        }
        for (int i = full; i < n; i++) {
            double y = x.getAtIndex(FLOAT, from + i) * s1 * s2;
            s += y * y;
        }
        return Math.scalb(s, -2 * k);
    }

    /** @return k such that the float of bits {@code maxBits} (finite, > 0) times 2^k lies in [2^31, 2^32) */
    private static int scaleExponent(int maxBits) {
        return 31 - Math.getExponent(Float.intBitsToFloat(maxBits));
    }

    /**
     * @return the largest {@code |x|} of the elements as raw bits (an unsigned maximum: for non-negative floats
     *     the order of the bits is the order of the values, and NaNs lie above +inf)
     */
    private static int maxAbsBits(MemorySegment x, long from, int n) {
        var max = IntVector.zero(Lanes.I);
        int i = 0;
        for (; i <= n - Lanes.LANES; i += Lanes.LANES) {
            max = max.lanewise(VectorOperators.UMAX, FloatVector.fromMemorySegment(Lanes.F, x, 4 * (from + i),
                    Lanes.ORDER).abs().reinterpretAsInts());
        }
        int m = max.lanewise(VectorOperators.XOR, Integer.MIN_VALUE).reduceLanes(VectorOperators.MAX)
                ^ Integer.MIN_VALUE;
        for (; i < n; i++) {
            m = Integer.compareUnsigned(m, absBits(x, from + i)) >= 0 ? m : absBits(x, from + i);
        }
        return m;
    }

    private static int absBits(MemorySegment x, long i) {
        return Float.floatToRawIntBits(x.getAtIndex(FLOAT, i)) & 0x7FFFFFFF;
    }

    /** The plain sum of the exact double squares in element order (for chunks with inf or NaN). */
    private static double plainSum(MemorySegment x, long from, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double d = x.getAtIndex(FLOAT, from + i);
            s += d * d;
        }
        return s;
    }

    /**
     * {@code x[from + i] *= coef} in float32 for i in [0, n).
     *
     * @param x float32 elements, updated in place
     */
    public static void scale(MemorySegment x, long from, long n, float coef) {
        long i = 0;
        for (; i <= n - Lanes.LANES; i += Lanes.LANES) {
            long off = 4 * (from + i);
            FloatVector.fromMemorySegment(Lanes.F, x, off, Lanes.ORDER).mul(coef).intoMemorySegment(x, off, Lanes.ORDER);
        }
        scaleScalar(x, from + i, n - i, coef);
    }

    /** Scalar twin of {@link #scale}. */
    public static void scaleScalar(MemorySegment x, long from, long n, float coef) {
        for (long i = 0; i < n; i++) {
            x.setAtIndex(FLOAT, from + i, x.getAtIndex(FLOAT, from + i) * coef);
        }
    }
}
