package org.lowbit4j.models;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix-vector products {@code out[i] = sum_j w[i*n + j] * x[j]} for a row-major {@code W [d, n]}:
 * the exact scalar kernel (llama2.c's {@code matmul}: one float accumulator per row, j ascending)
 * and its Vector API twin, which sums in a different order (lane-wise partial sums, then a lane
 * reduction) and so differs from the exact kernel by rounding only.
 */
public final class MatVec {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private MatVec() {
    }

    /**
     * The exact kernel, bit-identical to llama2.c's {@code matmul}.
     *
     * @param out receives d values from {@code outOff}
     * @param x [n]
     * @param w [d, n] row-major
     */
    public static void exact(float[] out, int outOff, float[] x, float[] w, int n, int d) {
        for (int i = 0; i < d; i++) {
            float val = 0.0f;
            int row = i * n;
            for (int j = 0; j < n; j++) {
                val += w[row + j] * x[j];
            }
            out[outOff + i] = val;
        }
    }

    /**
     * The SIMD kernel: same contract as {@link #exact}, float32 throughout, different summation order.
     */
    public static void vector(float[] out, int outOff, float[] x, float[] w, int n, int d) {
        int lanes = S.length();
        int bound = S.loopBound(n);
        int bound4 = n - n % (4 * lanes);
        for (int i = 0; i < d; i++) {
            int row = i * n;
            // Four independent accumulators hide the add latency; one vector loop finishes the rest.
            var a0 = FloatVector.zero(S);
            var a1 = FloatVector.zero(S);
            var a2 = FloatVector.zero(S);
            var a3 = FloatVector.zero(S);
            int j = 0;
            for (; j < bound4; j += 4 * lanes) {
                // NOTE: mul then add, not fma, so every partial sum is rounded like the scalar kernel's.
                a0 = a0.add(FloatVector.fromArray(S, w, row + j).mul(FloatVector.fromArray(S, x, j)));
                a1 = a1.add(FloatVector.fromArray(S, w, row + j + lanes).mul(FloatVector.fromArray(S, x, j + lanes)));
                a2 = a2.add(FloatVector.fromArray(S, w, row + j + 2 * lanes)
                        .mul(FloatVector.fromArray(S, x, j + 2 * lanes)));
                a3 = a3.add(FloatVector.fromArray(S, w, row + j + 3 * lanes)
                        .mul(FloatVector.fromArray(S, x, j + 3 * lanes)));
            }
            for (; j < bound; j += lanes) {
                a0 = a0.add(FloatVector.fromArray(S, w, row + j).mul(FloatVector.fromArray(S, x, j)));
            }
            // NOTE: lanes summed in order, not reduceLanes(ADD), whose order (and so rounding)
            // differs between the C2 intrinsic and the interpreter.
            float val = 0f;
            for (float lane : a0.add(a1).add(a2.add(a3)).toArray()) {
                val += lane;
            }
            for (; j < n; j++) {
                val += w[row + j] * x[j];
            }
            out[outOff + i] = val;
        }
    }
}
