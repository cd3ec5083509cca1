package org.lowbit4j.optim.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fused AdamW element update (see {@link AdamCoeffs}): one pass reads the parameter, gradient and both
 * fp32 moments, and writes the parameter and moments back.
 *
 * <p>{@link #step} uses the Vector API; {@link #stepScalar} is its scalar twin. Both perform the same IEEE
 * float32 operations in the same order (no fused multiply-add), so their results are bitwise equal.
 */
public final class AdamKernel {
    // NOTE: the shape of the quantized kernels (see the NOTE on profile pollution in Lanes).
    static final VectorSpecies<Float> F = Lanes.F;
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private AdamKernel() {
    }

    /**
     * Updates elements {@code [0, len)} of a window.
     *
     * @param p parameters (float32), elements from {@code pOff} updated in place
     * @param g gradients (float32), read from element {@code pOff}
     * @param pOff first element in {@code p} and {@code g}
     * @param m first moments, from {@code sOff}, updated in place
     * @param v second moments, from {@code sOff}, updated in place
     * @param sOff first element in {@code m} and {@code v}
     * @param len elements to update
     * @param c the step's constants
     */
    public static void step(MemorySegment p, MemorySegment g, long pOff, float[] m, float[] v, int sOff, int len,
            AdamCoeffs c) {
        int lanes = F.length();
        int i = 0;
        for (; i <= len - lanes; i += lanes) {
            long byteOff = (pOff + i) * 4;
            var gv = FloatVector.fromMemorySegment(F, g, byteOff, ORDER);
            var mv = FloatVector.fromArray(F, m, sOff + i).mul(c.beta1()).add(gv.mul(c.oneMinusBeta1()));
            var vv = FloatVector.fromArray(F, v, sOff + i).mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var denom = vv.lanewise(VectorOperators.SQRT).mul(c.invSqrtBc2()).add(c.eps());
            var pv = FloatVector.fromMemorySegment(F, p, byteOff, ORDER).mul(c.decay())
                    .sub(mv.div(denom).mul(c.stepSize()));
            mv.intoArray(m, sOff + i);
            vv.intoArray(v, sOff + i);
            pv.intoMemorySegment(p, byteOff, ORDER);
        }
        stepScalar(p, g, pOff + i, m, v, sOff + i, len - i, c);
    }

    /**
     * {@link #step} that also returns the largest new {@code |m|} and {@code v} of the window: the block
     * maxima a quantized state needs, without a second pass.
     *
     * @param max receives {@code {max |m|, max v}} (both >= 0)
     */
    public static void stepMax(MemorySegment p, MemorySegment g, long pOff, float[] m, float[] v, int sOff,
            int len, AdamCoeffs c, float[] max) {
        int lanes = F.length();
        int i = 0;
        var maxM = FloatVector.zero(F);
        var maxV = FloatVector.zero(F);
        for (; i <= len - lanes; i += lanes) {
            long byteOff = (pOff + i) * 4;
            var gv = FloatVector.fromMemorySegment(F, g, byteOff, ORDER);
            var mv = FloatVector.fromArray(F, m, sOff + i).mul(c.beta1()).add(gv.mul(c.oneMinusBeta1()));
            var vv = FloatVector.fromArray(F, v, sOff + i).mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var denom = vv.lanewise(VectorOperators.SQRT).mul(c.invSqrtBc2()).add(c.eps());
            var pv = FloatVector.fromMemorySegment(F, p, byteOff, ORDER).mul(c.decay())
                    .sub(mv.div(denom).mul(c.stepSize()));
            mv.intoArray(m, sOff + i);
            vv.intoArray(v, sOff + i);
            pv.intoMemorySegment(p, byteOff, ORDER);
            maxM = maxM.max(mv.abs());
            maxV = maxV.max(vv);
        }
        stepMaxScalar(p, g, pOff + i, m, v, sOff + i, len - i, c, max);
        max[0] = Math.max(max[0], maxM.reduceLanes(VectorOperators.MAX));
        max[1] = Math.max(max[1], maxV.reduceLanes(VectorOperators.MAX));
    }

    /** Scalar twin of {@link #stepMax}. */
    public static void stepMaxScalar(MemorySegment p, MemorySegment g, long pOff, float[] m, float[] v, int sOff,
            int len, AdamCoeffs c, float[] max) {
        stepScalar(p, g, pOff, m, v, sOff, len, c);
        float mm = 0f;
        float mv = 0f;
        for (int i = 0; i < len; i++) {
            mm = Math.max(mm, Math.abs(m[sOff + i]));
            mv = Math.max(mv, v[sOff + i]);
        }
        max[0] = mm;
        max[1] = mv;
    }

    /** Scalar twin of {@link #step}: same arguments, bitwise the same results. */
    public static void stepScalar(MemorySegment p, MemorySegment g, long pOff, float[] m, float[] v, int sOff,
            int len, AdamCoeffs c) {
        for (int i = 0; i < len; i++) {
            float gi = g.getAtIndex(FLOAT, pOff + i);
            float mi = m[sOff + i] * c.beta1() + gi * c.oneMinusBeta1();
            float vi = v[sOff + i] * c.beta2() + gi * gi * c.oneMinusBeta2();
            float denom = (float) Math.sqrt(vi) * c.invSqrtBc2() + c.eps();
            float pi = p.getAtIndex(FLOAT, pOff + i) * c.decay() - mi / denom * c.stepSize();
            m[sOff + i] = mi;
            v[sOff + i] = vi;
            p.setAtIndex(FLOAT, pOff + i, pi);
        }
    }
}
