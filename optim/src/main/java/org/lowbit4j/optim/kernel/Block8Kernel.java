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
        float[] max = new float[2];
        for (int start = from; start < to; start += bs) {
            int n = Math.min(bs, to - start);
            int b = start / bs;
            // NOTE: decoding is a scalar table lookup in both twins: on AVX2/AVX-512 a 256-entry gather is
            // slower than 8 scalar loads.
            decode(s.mCodes(), start, n, mTable, s.mAbsmax()[b], sm);
            decode(s.vCodes(), start, n, vTable, s.vAbsmax()[b], sv);
            if (vector) {
                AdamKernel.stepMax(p, g, start, sm, sv, 0, n, c, max);
            } else {
                AdamKernel.stepMaxScalar(p, g, start, sm, sv, 0, n, c, max);
            }
            s.mAbsmax()[b] = encode(sm, n, max[0], s.mCodes(), start, mMap, vector, ix);
            s.vAbsmax()[b] = encode(sv, n, max[1], s.vCodes(), start, vMap, vector, ix);
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
}
