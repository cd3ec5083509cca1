package org.lowbit4j.optim.kernel;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
        float[] max = new float[2];
        for (int start = from; start < to; start += bs) {
            int n = Math.min(bs, to - start);
            int b = start / bs;
            if (vector) {
                decodeUpdate(p, g, s, start, n, c, mMap.table256(), vMap.table256(), sm, sv, ix, max);
            } else {
                decode(s.mCodes(), start, n, mTable, s.mAbsmax()[b], sm);
                decode(s.vCodes(), start, n, vTable, s.vAbsmax()[b], sv);
                AdamKernel.stepMaxScalar(p, g, start, sm, sv, 0, n, c, max);
            }
            s.mAbsmax()[b] = encode(sm, n, max[0], s.mCodes(), start, mMap, vector, ix);
            s.vAbsmax()[b] = encode(sv, n, max[1], s.vCodes(), start, vMap, vector, ix);
        }
    }

    /**
     * One fused vector pass over a block: gather-decode both moments, AdamW update, new moments to the scratch
     * arrays and their maxima to {@code max}; the float operations of {@link #decode} followed by
     * {@link AdamKernel#stepMaxScalar}, lane by lane.
     */
    private static void decodeUpdate(MemorySegment p, MemorySegment g, State s, int start, int n, AdamCoeffs c,
            float[] mTable, float[] vTable, float[] sm, float[] sv, int[] ix, float[] max) {
        int b = start / s.blockSize();
        float am = s.mAbsmax()[b];
        float av = s.vAbsmax()[b];
        byte[] mCodes = s.mCodes();
        byte[] vCodes = s.vCodes();
        // Maxima as unsigned ints of the float bits: see the NOTE in Lanes.
        var maxM = IntVector.zero(Lanes.I);
        var maxV = IntVector.zero(Lanes.I);
        int i = 0;
        // NOTE: everything inline in the loop body; vectors passed to a helper C2 fails to inline get boxed.
        for (; i <= n - Lanes.LANES; i += Lanes.LANES) {
            int e = start + i;
            long byteOff = 4L * e;
            ((IntVector) ByteVector.fromArray(Lanes.B, mCodes, e).convertShape(VectorOperators.ZERO_EXTEND_B2I,
                    Lanes.I, 0)).intoArray(ix, 0);
            var m = FloatVector.fromArray(Lanes.F, mTable, 0, ix, 0).mul(am);
            ((IntVector) ByteVector.fromArray(Lanes.B, vCodes, e).convertShape(VectorOperators.ZERO_EXTEND_B2I,
                    Lanes.I, 0)).intoArray(ix, 0);
            var v = FloatVector.fromArray(Lanes.F, vTable, 0, ix, 0).mul(av);
            var gv = FloatVector.fromMemorySegment(Lanes.F, g, byteOff, Lanes.ORDER);
            var mv = m.mul(c.beta1()).add(gv.mul(c.oneMinusBeta1()));
            var vv = v.mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var denom = vv.lanewise(VectorOperators.SQRT).mul(c.invSqrtBc2()).add(c.eps());
            FloatVector.fromMemorySegment(Lanes.F, p, byteOff, Lanes.ORDER).mul(c.decay())
                    .sub(mv.div(denom).mul(c.stepSize())).intoMemorySegment(p, byteOff, Lanes.ORDER);
            mv.intoArray(sm, i);
            vv.intoArray(sv, i);
            maxM = maxM.lanewise(VectorOperators.UMAX, mv.abs().reinterpretAsInts());
            maxV = maxV.lanewise(VectorOperators.UMAX, vv.reinterpretAsInts());
        }
        float tailM = 0f;
        float tailV = 0f;
        if (i < n) {
            decode(mCodes, start + i, n - i, mTable, am, sm, i);
            decode(vCodes, start + i, n - i, vTable, av, sv, i);
            float[] tail = new float[2];
            AdamKernel.stepMaxScalar(p, g, start + i, sm, sv, i, n - i, c, tail);
            tailM = tail[0];
            tailV = tail[1];
        }
        max[0] = Math.max(tailM, Float.intBitsToFloat(maxM.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                .reduceLanes(VectorOperators.MAX) ^ Integer.MIN_VALUE));
        max[1] = Math.max(tailV, Float.intBitsToFloat(maxV.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                .reduceLanes(VectorOperators.MAX) ^ Integer.MIN_VALUE));
    }

    static void decode(byte[] codes, int start, int n, float[] table, float absmax, float[] out, int outOff) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = table[codes[start + i] & 0xFF] * absmax;
        }
    }

    static void decode(byte[] codes, int start, int n, float[] table, float absmax, float[] out) {
        for (int i = 0; i < n; i++) {
            out[i] = table[codes[start + i] & 0xFF] * absmax;
        }
    }

    /** Encodes {@code x[0, n)} relative to its absmax (given), which it returns. */
    static float encode(float[] x, int n, float absmax, byte[] codes, int start, MapEncoder map, boolean vector,
            int[] ix) {
        if (absmax == 0f) {
            byte z = (byte) map.zeroCode();
            for (int i = 0; i < n; i++) {
                codes[start + i] = z;
            }
            return 0f;
        }
        float inv = 1f / absmax;
        if (vector) {
            map.encodeBytes(x, n, inv, codes, start, ix);
        } else {
            for (int i = 0; i < n; i++) {
                codes[start + i] = (byte) map.encode(x[i] * inv);
            }
        }
        return absmax;
    }
}
