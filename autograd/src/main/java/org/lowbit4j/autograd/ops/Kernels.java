package org.lowbit4j.autograd.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API row kernels over FLOAT MemorySegments (the hot loops of softmax, attention,
 * cross-entropy, RMSNorm and SiLU), each with a scalar twin ({@code ...Scalar}) that tests compare
 * against. Offsets and lengths are in elements.
 *
 * <p>Exponentials come from {@link DeterministicExp}, not the Vector API's EXP, so results do not
 * depend on which JIT tier runs a kernel.
 *
 * <p>NOTE: reductions accumulate in float vector lanes (one partial sum per lane, combined at the
 * end), which keeps rows of a few thousand elements accurate to about 1e-6 relative; DOUBLE arrays
 * never come here (they take the double scalar paths in the primitives).
 */
final class Kernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private Kernels() {
    }

    /**
     * The sum of a vector's lanes, in lane order.
     *
     * <p>NOTE: {@code reduceLanes(ADD)} leaves the order unspecified, and the C2 intrinsic (a tree)
     * and the interpreter's fallback (a loop) round differently: results would depend on when the
     * JIT compiled the kernel. A fixed order costs one small loop per row.
     */
    static float sumLanes(FloatVector v) {
        float s = 0f;
        for (float x : v.toArray()) {
            s += x;
        }
        return s;
    }

    private static FloatVector load(MemorySegment m, long i) {
        return FloatVector.fromMemorySegment(S, m, i * 4, ORDER);
    }

    // ---- SiLU ----

    /** y[i] = x[i] / (1 + e^-x[i]) for i in [0, n); x and y distinct. */
    static void siluForward(MemorySegment x, MemorySegment y, long n) {
        DeterministicExp.expInto(x, 0, y, 0, n, -1f, 0f); // y = e^-x
        long i = 0;
        for (long bound = S.loopBound(n); i < bound; i += S.length()) {
            load(x, i).div(load(y, i).add(1f)).intoMemorySegment(y, i * 4, ORDER);
        }
        for (; i < n; i++) {
            y.setAtIndex(F32, i, x.getAtIndex(F32, i) / (1f + y.getAtIndex(F32, i)));
        }
    }

    /** Scalar twin of {@link #siluForward}. */
    static void siluForwardScalar(MemorySegment x, MemorySegment y, long n) {
        for (long i = 0; i < n; i++) {
            float v = x.getAtIndex(F32, i);
            y.setAtIndex(F32, i, v / (1f + DeterministicExp.exp(-v)));
        }
    }

    /** d[i] = g[i] s (1 + x[i] (1 - s)), s = sigmoid(x[i]); d distinct from x and g. */
    static void siluBackward(MemorySegment x, MemorySegment g, MemorySegment d, long n) {
        DeterministicExp.expInto(x, 0, d, 0, n, -1f, 0f); // d = e^-x
        long i = 0;
        for (long bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector v = load(x, i);
            FloatVector s = FloatVector.broadcast(S, 1f).div(load(d, i).add(1f));
            FloatVector k = s.neg().add(1f).mul(v).add(1f).mul(s);
            load(g, i).mul(k).intoMemorySegment(d, i * 4, ORDER);
        }
        for (; i < n; i++) {
            float v = x.getAtIndex(F32, i);
            float s = 1f / (1f + d.getAtIndex(F32, i));
            d.setAtIndex(F32, i, g.getAtIndex(F32, i) * (s * (1f + v * (1f - s))));
        }
    }

    /** Scalar twin of {@link #siluBackward}. */
    static void siluBackwardScalar(MemorySegment x, MemorySegment g, MemorySegment d, long n) {
        siluBackwardTail(x, g, d, 0, n);
    }

    private static void siluBackwardTail(MemorySegment x, MemorySegment g, MemorySegment d, long from, long n) {
        for (long i = from; i < n; i++) {
            float v = x.getAtIndex(F32, i);
            float s = 1f / (1f + DeterministicExp.exp(-v));
            d.setAtIndex(F32, i, g.getAtIndex(F32, i) * (s * (1f + v * (1f - s))));
        }
    }

    // ---- reductions ----

    /** @return max of m[off, off + n), -inf for n = 0 */
    static float max(MemorySegment m, long off, long n) {
        long i = 0;
        float best = Float.NEGATIVE_INFINITY;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (long bound = S.loopBound(n); i < bound; i += S.length()) {
                acc = acc.max(load(m, off + i));
            }
            best = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            best = Math.max(best, m.getAtIndex(F32, off + i));
        }
        return best;
    }

    /** Scalar twin of {@link #max}. */
    static float maxScalar(MemorySegment m, long off, long n) {
        float best = Float.NEGATIVE_INFINITY;
        for (long i = 0; i < n; i++) {
            best = Math.max(best, m.getAtIndex(F32, off + i));
        }
        return best;
    }

    /** @return sum of a[i] b[i] over n elements from aOff and bOff */
    static double dot(MemorySegment a, long aOff, MemorySegment b, long bOff, long n) {
        long i = 0;
        double sum = 0;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (long bound = S.loopBound(n); i < bound; i += S.length()) {
                acc = load(a, aOff + i).fma(load(b, bOff + i), acc);
            }
            sum = sumLanes(acc);
        }
        for (; i < n; i++) {
            sum += (double) a.getAtIndex(F32, aOff + i) * b.getAtIndex(F32, bOff + i);
        }
        return sum;
    }

    /** Scalar twin of {@link #dot} (accumulates in double). */
    static double dotScalar(MemorySegment a, long aOff, MemorySegment b, long bOff, long n) {
        double sum = 0;
        for (long i = 0; i < n; i++) {
            sum += (double) a.getAtIndex(F32, aOff + i) * b.getAtIndex(F32, bOff + i);
        }
        return sum;
    }

    /**
     * Writes dst[i] = e^(src[i] - shift) and returns their sum; src and dst may be the same.
     *
     * @param write false to only return the sum
     */
    static double expShift(MemorySegment src, long sOff, MemorySegment dst, long dOff, long n, float shift,
            boolean write) {
        MemorySegment out = write ? dst : scratch(n);
        long oOff = write ? dOff : 0;
        DeterministicExp.expInto(src, sOff, out, oOff, n, 1f, shift);
        long i = 0;
        double sum = 0;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (long bound = S.loopBound(n); i < bound; i += S.length()) {
                acc = acc.add(load(out, oOff + i));
            }
            sum = sumLanes(acc);
        }
        for (; i < n; i++) {
            sum += out.getAtIndex(F32, oOff + i);
        }
        return sum;
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    /** A per-thread buffer of at least n floats, for exponentials that are only summed. */
    private static MemorySegment scratch(long n) {
        float[] buf = SCRATCH.get();
        if (buf.length < n) {
            buf = new float[Math.toIntExact(n)];
            SCRATCH.set(buf);
        }
        return MemorySegment.ofArray(buf);
    }

    /** Scalar twin of {@link #expShift}. */
    static double expShiftScalar(MemorySegment src, long sOff, MemorySegment dst, long dOff, long n, float shift,
            boolean write) {
        double sum = 0;
        for (long i = 0; i < n; i++) {
            float e = DeterministicExp.exp(src.getAtIndex(F32, sOff + i) - shift);
            if (write) {
                dst.setAtIndex(F32, dOff + i, e);
            }
            sum += e;
        }
        return sum;
    }

    // ---- elementwise row updates ----

    /** dst[i] = e^(src[i] - shift) * scale. */
    static void expShiftScale(MemorySegment src, long sOff, MemorySegment dst, long dOff, long n, float shift,
            float scale) {
        DeterministicExp.expInto(src, sOff, dst, dOff, n, 1f, shift);
        long i = 0;
        for (long bound = S.loopBound(n); i < bound; i += S.length()) {
            load(dst, dOff + i).mul(scale).intoMemorySegment(dst, (dOff + i) * 4, ORDER);
        }
        for (; i < n; i++) {
            dst.setAtIndex(F32, dOff + i, dst.getAtIndex(F32, dOff + i) * scale);
        }
    }

    /** Scalar twin of {@link #expShiftScale}. */
    static void expShiftScaleScalar(MemorySegment src, long sOff, MemorySegment dst, long dOff, long n, float shift,
            float scale) {
        for (long i = 0; i < n; i++) {
            dst.setAtIndex(F32, dOff + i, DeterministicExp.exp(src.getAtIndex(F32, sOff + i) - shift) * scale);
        }
    }

    /** m[i] *= a, in place. */
    static void scale(MemorySegment m, long off, long n, float a) {
        long i = 0;
        for (long bound = S.loopBound(n); i < bound; i += S.length()) {
            load(m, off + i).mul(a).intoMemorySegment(m, (off + i) * 4, ORDER);
        }
        for (; i < n; i++) {
            m.setAtIndex(F32, off + i, m.getAtIndex(F32, off + i) * a);
        }
    }

    /** Scalar twin of {@link #scale}. */
    static void scaleScalar(MemorySegment m, long off, long n, float a) {
        for (long i = 0; i < n; i++) {
            m.setAtIndex(F32, off + i, m.getAtIndex(F32, off + i) * a);
        }
    }

    /** dp[i] = p[i] (dp[i] - dot) * scale, in place on dp: the softmax backward of one row. */
    static void softmaxGrad(MemorySegment p, long pOff, MemorySegment dp, long dOff, long n, float dot, float scale) {
        long i = 0;
        for (long bound = S.loopBound(n); i < bound; i += S.length()) {
            load(dp, dOff + i).sub(dot).mul(load(p, pOff + i)).mul(scale).intoMemorySegment(dp, (dOff + i) * 4, ORDER);
        }
        for (; i < n; i++) {
            dp.setAtIndex(F32, dOff + i, (dp.getAtIndex(F32, dOff + i) - dot) * p.getAtIndex(F32, pOff + i) * scale);
        }
    }

    /** Scalar twin of {@link #softmaxGrad}. */
    static void softmaxGradScalar(MemorySegment p, long pOff, MemorySegment dp, long dOff, long n, float dot,
            float scale) {
        for (long i = 0; i < n; i++) {
            dp.setAtIndex(F32, dOff + i, (dp.getAtIndex(F32, dOff + i) - dot) * p.getAtIndex(F32, pOff + i) * scale);
        }
    }

    /** y[i] = x[i] * r * w[i] over one row of n elements (w from its start). */
    static void scaleMul(MemorySegment x, long off, MemorySegment w, MemorySegment y, long n, float r) {
        long i = 0;
        for (long bound = S.loopBound(n); i < bound; i += S.length()) {
            load(x, off + i).mul(r).mul(load(w, i)).intoMemorySegment(y, (off + i) * 4, ORDER);
        }
        for (; i < n; i++) {
            y.setAtIndex(F32, off + i, x.getAtIndex(F32, off + i) * r * w.getAtIndex(F32, i));
        }
    }

    /** Scalar twin of {@link #scaleMul}. */
    static void scaleMulScalar(MemorySegment x, long off, MemorySegment w, MemorySegment y, long n, float r) {
        for (long i = 0; i < n; i++) {
            y.setAtIndex(F32, off + i, x.getAtIndex(F32, off + i) * r * w.getAtIndex(F32, i));
        }
    }
}
