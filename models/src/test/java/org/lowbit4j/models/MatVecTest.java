package org.lowbit4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class MatVecTest {
    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    @Test
    void exactKernelSumsEachRowLeftToRightInFloat() {
        // 1e8 + 1 - 1e8 in float order is 0; any other order or a wider accumulator could give 1.
        float[] w = {1e8f, 1f, -1e8f, 1f, 1f, 1f};
        float[] x = {1f, 1f, 1f};
        float[] out = new float[2];
        MatVec.exact(out, 0, x, w, 3, 2);
        assertEquals(0f, out[0]);
        assertEquals(3f, out[1]);
    }

    @Test
    void vectorKernelMatchesTheScalarTwinUpToRounding() {
        var r = new SplittableRandom(1);
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        for (int n : new int[] {1, 3, lanes - 1, lanes, lanes + 1, 2 * lanes + 3, 4 * lanes, 5 * lanes + 1, 64, 172, 288}) {
            int d = 5;
            float[] w = random(r, n * d);
            float[] x = random(r, n);
            float[] a = new float[d + 2];
            float[] b = new float[d + 2];
            MatVec.exact(a, 2, x, w, n, d);
            MatVec.vector(b, 2, x, w, n, d);
            for (int i = 0; i < d; i++) {
                double mag = 0;
                for (int j = 0; j < n; j++) {
                    mag += Math.abs(w[i * n + j] * x[j]);
                }
                double tol = 2 * n * Math.ulp(1f) * mag;
                assertTrue(Math.abs(a[2 + i] - b[2 + i]) <= tol, "n=" + n + " row " + i + ": " + a[2 + i] + " vs "
                        + b[2 + i]);
                if (n < lanes) {
                    assertEquals(a[2 + i], b[2 + i], "below one vector the SIMD kernel runs the scalar tail only");
                }
            }
            assertEquals(0f, a[0]);
            assertEquals(0f, b[1]);
        }
    }
}
