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
 * <p>{@link #update} vectorises the arithmetic; {@link #updateScalar} is its bitwise-equal scalar twin. The vector
 * path is software-pipelined: while it updates block b it encodes block b - 1 (whose maxima are known by then),
 * in one loop, so the gathers of the encoding overlap the square roots and divisions of the update. Every element
 * sees the same float operations in the same order on every path.
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
        int bs = s.blockSize();
        // NOTE: the pipelined loop encodes without the slow-bucket check and with the second moment's raw low
        // bits (no negative threshold, as the unsigned dynamic map has); other maps take the general path.
        boolean pipelined = bs % Lanes.LANES == 0 && mMap.exactEntries()
                && vMap.exactEntries() && vMap.nonNegativeThresholds();
        float[] cm = new float[bs];
        float[] cv = new float[bs];
        float[] pm = new float[bs];
        float[] pv = new float[bs];
        int[] ix = new int[Lanes.LANES];
        float[] max = new float[2];
        byte[] junkM = new byte[bs];
        byte[] junkV = new byte[bs];
        // The previous full block, updated but not yet encoded (its new moments in pm, pv): start, or -1.
        int prev = -1;
        float prevInvM = 0f;
        float prevInvV = 0f;
        for (int start = from; start < to; start += bs) {
            int n = Math.min(bs, to - start);
            int b = start / bs;
            if (!pipelined || n < bs) {
                flush(s, prev, bs, prevInvM, prevInvV, pm, pv, mMap, vMap, ix);
                prev = -1;
                decodeUpdate(p, g, s, start, n, c, mMap.table256(), vMap.table256(), cm, cv, ix, max);
                s.mAbsmax()[b] = encode(cm, n, max[0], s.mCodes(), start, mMap, true, ix);
                s.vAbsmax()[b] = encode(cv, n, max[1], s.vCodes(), start, vMap, true, ix);
                continue;
            }
            gatherDecode(s.mCodes(), start, bs, mMap.table256(), cm, ix);
            gatherDecode(s.vCodes(), start, bs, vMap.table256(), cv, ix);
            // NOTE: the first block of a run has no previous block to encode; its loop encodes the scratch
            // moments into scratch codes, so that the loop has no branch on it. With `if (prev >= 0)` in the
            // loop, C2 compiled it first without the rarely taken side, hit an uncommon trap at the first block
            // of the next tensor and recompiled: the step ran 4-10% slower (BENCHMARKS, session 5).
            boolean first = prev < 0;
            pipelinedBlock(p, g, s, start, c, mMap, vMap, cm, cv, first ? junkM : s.mCodes(),
                    first ? junkV : s.vCodes(), first ? 0 : prev, prevInvM, prevInvV, pm, pv, ix, max);
            s.mAbsmax()[b] = max[0];
            s.vAbsmax()[b] = max[1];
            // NOTE: a zero maximum means every element is +-0, and +-0 * 0 encodes to the zero code, exactly what
            // the scalar path writes for an all-zero block; a NaN maximum gives a NaN inverse, as in encode().
            prevInvM = max[0] == 0f ? 0f : 1f / max[0];
            prevInvV = max[1] == 0f ? 0f : 1f / max[1];
            prev = start;
            float[] t = cm;
            cm = pm;
            pm = t;
            t = cv;
            cv = pv;
            pv = t;
        }
        flush(s, prev, bs, prevInvM, prevInvV, pm, pv, mMap, vMap, ix);
    }

    /** Scalar twin of {@link #update}. */
    public static void updateScalar(MemorySegment p, MemorySegment g, State s, int from, int to, AdamCoeffs c,
            MapEncoder mMap, MapEncoder vMap) {
        int bs = s.blockSize();
        float[] mTable = mMap.values();
        float[] vTable = vMap.values();
        float[] sm = new float[bs];
        float[] sv = new float[bs];
        float[] max = new float[2];
        for (int start = from; start < to; start += bs) {
            int n = Math.min(bs, to - start);
            int b = start / bs;
            decode(s.mCodes(), start, n, mTable, s.mAbsmax()[b], sm, 0);
            decode(s.vCodes(), start, n, vTable, s.vAbsmax()[b], sv, 0);
            AdamKernel.stepMaxScalar(p, g, start, sm, sv, 0, n, c, max);
            s.mAbsmax()[b] = encode(sm, n, max[0], s.mCodes(), start, mMap, false, null);
            s.vAbsmax()[b] = encode(sv, n, max[1], s.vCodes(), start, vMap, false, null);
        }
    }

    /** Encodes the pending block at {@code prev} (if any, i.e. {@code prev >= 0}) from {@code pm}, {@code pv}. */
    private static void flush(State s, int prev, int bs, float invM, float invV, float[] pm, float[] pv,
            MapEncoder mMap, MapEncoder vMap, int[] ix) {
        if (prev >= 0) {
            mMap.encodeBytes(pm, bs, invM, s.mCodes(), prev, ix);
            vMap.encodeBytes(pv, bs, invV, s.vCodes(), prev, ix);
        }
    }

    /**
     * {@code out[i] = table[codes[start + i] & 0xFF]} for i in [0, n), n a multiple of the lanes.
     *
     * <p>NOTE: byte permutes (AVX-512 VBMI vpermi2b, 16 per 64 codes over four byte planes of the table) measured
     * only 2-3% faster per step than these gathers here (vpermi2b costs two cycles), and their 512-bit byte vectors
     * were boxed once autograd's double-vector kernels had run in the same JVM; gathers it is.
     */
    private static void gatherDecode(byte[] codes, int start, int n, float[] table, float[] out, int[] ix) {
        for (int i = 0; i < n; i += Lanes.LANES) {
            ((IntVector) ByteVector.fromArray(Lanes.B, codes, start + i).convertShape(
                    VectorOperators.ZERO_EXTEND_B2I, Lanes.I, 0)).intoArray(ix, 0);
            FloatVector.fromArray(Lanes.F, table, 0, ix, 0).intoArray(out, i);
        }
    }

    /**
     * One full block at {@code start}: the AdamW update of its elements (the map values of their codes are in
     * {@code cm}, {@code cv}), new moments to {@code cm}, {@code cv} and their maxima to {@code max}; and, in the
     * same loop, the encoding of the previous block's new moments {@code pm}, {@code pv} into
     * {@code mCodes[prev..]}, {@code vCodes[prev..]} (the body of {@link MapEncoder#encodeBytes} for maps of exact
     * entries, the second with no negative threshold).
     */
    private static void pipelinedBlock(MemorySegment p, MemorySegment g, State s, int start, AdamCoeffs c,
            MapEncoder mMap, MapEncoder vMap, float[] cm, float[] cv, byte[] mCodes, byte[] vCodes, int prev,
            float invM, float invV, float[] pm, float[] pv, int[] ix, float[] max) {
        int bs = s.blockSize();
        int b = start / bs;
        float am = s.mAbsmax()[b];
        float av = s.vAbsmax()[b];
        int[] mEntries = mMap.rawEntries();
        int[] vEntries = vMap.rawEntries();
        // Maxima as unsigned ints of the float bits: see the NOTE in Lanes.
        var maxM = IntVector.zero(Lanes.I);
        var maxV = IntVector.zero(Lanes.I);
        // NOTE: everything inline in the loop body; vectors passed to a helper C2 fails to inline get boxed.
        for (int i = 0; i < bs; i += Lanes.LANES) {
            int e = start + i;
            long byteOff = 4L * e;
            // NOTE: decoded beforehand, so the loop has one path: a vector merged from two branches is where C2
            // boxes first when other code of the JVM has polluted the Vector API's shared methods (see Lanes).
            var m = FloatVector.fromArray(Lanes.F, cm, i).mul(am);
            var v = FloatVector.fromArray(Lanes.F, cv, i).mul(av);
            var gv = FloatVector.fromMemorySegment(Lanes.F, g, byteOff, Lanes.ORDER);
            var mv = m.mul(c.beta1()).add(gv.mul(c.oneMinusBeta1()));
            var vv = v.mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var denom = vv.lanewise(VectorOperators.SQRT).mul(c.invSqrtBc2()).add(c.eps());
            FloatVector.fromMemorySegment(Lanes.F, p, byteOff, Lanes.ORDER).mul(c.decay())
                    .sub(mv.div(denom).mul(c.stepSize())).intoMemorySegment(p, byteOff, Lanes.ORDER);
            mv.intoArray(cm, i);
            vv.intoArray(cv, i);
            maxM = maxM.lanewise(VectorOperators.UMAX, mv.abs().reinterpretAsInts());
            maxV = maxV.lanewise(VectorOperators.UMAX, vv.reinterpretAsInts());
            // The previous block's encoding (see the NOTE in update on the first block).
            int pe = prev + i;
            IntVector mBits = FloatVector.fromArray(Lanes.F, pm, i).mul(invM).reinterpretAsInts();
            mBits.lanewise(VectorOperators.LSHR, 16).intoArray(ix, 0);
            IntVector mEntry = IntVector.fromArray(Lanes.I, mEntries, 0, ix, 0);
            IntVector vBits = FloatVector.fromArray(Lanes.F, pv, i).mul(invV).reinterpretAsInts();
            vBits.lanewise(VectorOperators.LSHR, 16).intoArray(ix, 0);
            IntVector vEntry = IntVector.fromArray(Lanes.I, vEntries, 0, ix, 0);
            IntVector mLow = mBits.lanewise(VectorOperators.XOR, mBits.lanewise(VectorOperators.ASHR, 31))
                    .and(0xFFFF);
            ((ByteVector) mEntry.add(mLow).lanewise(VectorOperators.LSHR, 16)
                    .convertShape(VectorOperators.I2B, Lanes.B, 0)).intoArray(mCodes, pe);
            ((ByteVector) vEntry.add(vBits.and(0xFFFF)).lanewise(VectorOperators.LSHR, 16)
                    .convertShape(VectorOperators.I2B, Lanes.B, 0)).intoArray(vCodes, pe);
        }
        max[0] = Float.intBitsToFloat(maxM.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                .reduceLanes(VectorOperators.MAX) ^ Integer.MIN_VALUE);
        max[1] = Float.intBitsToFloat(maxV.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                .reduceLanes(VectorOperators.MAX) ^ Integer.MIN_VALUE);
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
