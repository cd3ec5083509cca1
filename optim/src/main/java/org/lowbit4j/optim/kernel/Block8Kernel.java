package org.lowbit4j.optim.kernel;

import static org.lowbit4j.optim.kernel.AdamKernel.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The 8-bit AdamW update of bitsandbytes' block-wise optimizers: both moments are stored as one byte per
 * element (a code into a dynamic map) plus one fp32 absolute maximum per block. Per block: decode both
 * moments to fp32, run the AdamW update (the parameter sees the unquantized new moments), take each
 * moment's new absmax, and re-encode to the nearest codes.
 *
 * <p>{@link #update} vectorises the arithmetic; {@link #updateScalar} is its bitwise-equal scalar twin.
 */
public final class Block8Kernel {
    private Block8Kernel() {
    }

    /** The quantized moments of one tensor: codes per element, absmax per block. */
    public record State(byte[] mCodes, float[] mAbsmax, byte[] vCodes, float[] vAbsmax, int blockSize) {
    }

    /**
     * Updates elements {@code [from, to)} of one tensor; {@code from} must be a multiple of the block size
     * and {@code to} a multiple of it or the tensor's end.
     *
     * @param p parameters (float32), updated in place
     * @param g gradients (float32)
     * @param s the tensor's quantized moments, updated in place
     * @param c the step's constants
     * @param mMap signed map of the first moment
     * @param vMap unsigned map of the second moment
     */
    public static void update(MemorySegment p, MemorySegment g, State s, int from, int to, AdamCoeffs c,
            MapEncoder mMap, MapEncoder vMap) {
        run(p, g, s, from, to, c, mMap, vMap, true);
    }

    /** Scalar twin of {@link #update}. */
    public static void updateScalar(MemorySegment p, MemorySegment g, State s, int from, int to, AdamCoeffs c,
            MapEncoder mMap, MapEncoder vMap) {
        run(p, g, s, from, to, c, mMap, vMap, false);
    }

    private static void run(MemorySegment p, MemorySegment g, State s, int from, int to, AdamCoeffs c,
            MapEncoder mMap, MapEncoder vMap, boolean vector) {
        int bs = s.blockSize();
        float[] mTable = mMap.values();
        float[] vTable = vMap.values();
        float[] sm = new float[bs];
        float[] sv = new float[bs];
        int[] ix = new int[Lanes.LANES];
        for (int start = from; start < to; start += bs) {
            int n = Math.min(bs, to - start);
            int b = start / bs;
            if (vector) {
                decodeUpdateVector(p, g, s, start, n, c, mMap, vMap, sm, sv, ix);
            } else {
                decode(s.mCodes(), start, n, mTable, s.mAbsmax()[b], sm);
                decode(s.vCodes(), start, n, vTable, s.vAbsmax()[b], sv);
                AdamKernel.stepScalar(p, g, start, sm, sv, 0, n, c);
            }
            s.mAbsmax()[b] = encode(sm, n, s.mCodes(), start, mMap, vector, ix);
            s.vAbsmax()[b] = encode(sv, n, s.vCodes(), start, vMap, vector, ix);
        }
    }

    /**
     * Vector pass over one block: decode both moments (gathers), AdamW update, new moments to the scratch
     * arrays. The same float operations as {@link #decode} + {@link AdamKernel#stepScalar}.
     */
    private static void decodeUpdateVector(MemorySegment p, MemorySegment g, State s, int start, int n,
            AdamCoeffs c, MapEncoder mMap, MapEncoder vMap, float[] sm, float[] sv, int[] ix) {
        int b = start / s.blockSize();
        float am = s.mAbsmax()[b];
        float av = s.vAbsmax()[b];
        int i = 0;
        for (; i <= n - Lanes.LANES; i += Lanes.LANES) {
            int e = start + i;
            long byteOff = 4L * e;
            var m = mMap.decode(Lanes.bytes(s.mCodes(), e), ix).mul(am);
            var v = vMap.decode(Lanes.bytes(s.vCodes(), e), ix).mul(av);
            var gv = FloatVector.fromMemorySegment(F, g, byteOff, Lanes.ORDER);
            var mv = m.mul(c.beta1()).add(gv.mul(c.oneMinusBeta1()));
            var vv = v.mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var denom = vv.lanewise(VectorOperators.SQRT).mul(c.invSqrtBc2()).add(c.eps());
            FloatVector.fromMemorySegment(F, p, byteOff, Lanes.ORDER).mul(c.decay())
                    .sub(mv.div(denom).mul(c.stepSize())).intoMemorySegment(p, byteOff, Lanes.ORDER);
            mv.intoArray(sm, i);
            vv.intoArray(sv, i);
        }
        if (i < n) {
            float[] mTable = mMap.values();
            float[] vTable = vMap.values();
            for (int k = i; k < n; k++) {
                sm[k] = mTable[s.mCodes()[start + k] & 0xFF] * am;
                sv[k] = vTable[s.vCodes()[start + k] & 0xFF] * av;
            }
            AdamKernel.stepScalar(p, g, start + i, sm, sv, i, n - i, c);
        }
    }

    static void decode(byte[] codes, int start, int n, float[] table, float absmax, float[] out) {
        for (int i = 0; i < n; i++) {
            out[i] = table[codes[start + i] & 0xFF] * absmax;
        }
    }

    /** Encodes {@code x[0, n)} relative to its absmax, which it returns. */
    static float encode(float[] x, int n, byte[] codes, int start, MapEncoder map, boolean vector, int[] ix) {
        float absmax = vector ? absMax(x, n) : absMaxScalar(x, n);
        if (absmax == 0f) {
            byte z = (byte) map.zeroCode();
            for (int i = 0; i < n; i++) {
                codes[start + i] = z;
            }
            return 0f;
        }
        float inv = 1f / absmax;
        int i = 0;
        if (vector) {
            for (; i <= n - Lanes.LANES; i += Lanes.LANES) {
                Lanes.storeBytes(map.encode(FloatVector.fromArray(F, x, i).mul(inv), ix), codes, start + i);
            }
        }
        for (; i < n; i++) {
            codes[start + i] = (byte) map.encode(x[i] * inv);
        }
        return absmax;
    }

    /** @return max |x[i]| over {@code [0, n)}; NaN-free inputs give the same result as the scalar twin */
    static float absMax(float[] x, int n) {
        int lanes = F.length();
        int i = 0;
        var acc = FloatVector.zero(F);
        for (; i <= n - lanes; i += lanes) {
            acc = acc.max(FloatVector.fromArray(F, x, i).abs());
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, Math.abs(x[i]));
        }
        return m;
    }

    static float absMaxScalar(float[] x, int n) {
        float m = 0f;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(x[i]));
        }
        return m;
    }
}
