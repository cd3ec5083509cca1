package org.lowbit4j.optim.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.formats.DynamicMaps;

/**
 * The rank-1 rows that the vector 4-bit kernel encodes in pass 1 (and pass 2 skips) against the scalar twin,
 * which always encodes in pass 2; and the permute-search nibble encoder at the decision boundaries.
 */
class FourBitRowFinishTest {
    private static final MapEncoder S4 = new MapEncoder(DynamicMaps.signed4());

    private static MemorySegment segment(Arena arena, float[] a) {
        MemorySegment s = arena.allocate(4L * a.length, 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, a.length);
        return s;
    }

    @Test
    void rowsEncodedInPassOneEqualTheScalarTwinBitwise() {
        // Tall (most rows finish in pass 1), wide (few do), odd columns (rows start on odd elements), chunked.
        int[][] shapes = {{3000, 96}, {40, 1000}, {1501, 33}};
        for (int[] shape : shapes) {
            for (int threads : new int[] {1, 2}) {
                Random r = new Random(11L * shape[0] + threads);
                int n = shape[0] * shape[1];
                float[] p = new float[n];
                for (int i = 0; i < n; i++) {
                    p[i] = (float) (r.nextGaussian() * 0.02);
                }
                FourBitState s1 = new FourBitState(n, shape[0], shape[1], S4.zeroCode());
                FourBitState s2 = new FourBitState(n, shape[0], shape[1], S4.zeroCode());
                Workers workers = Workers.of(threads);
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment p1 = segment(arena, p);
                    MemorySegment p2 = segment(arena, p);
                    for (int step = 1; step <= 6; step++) {
                        float[] g = new float[n];
                        double scale = Math.pow(10, -4 + r.nextInt(3));
                        for (int i = 0; i < n; i++) {
                            // A few large rows, so that column maxima differ from row maxima.
                            g[i] = (float) (r.nextGaussian() * scale * (i / shape[1] % 97 == 5 ? 30 : 1));
                        }
                        if (step == 5) {
                            g[n / 3] = Float.POSITIVE_INFINITY;
                        }
                        MemorySegment gs = segment(arena, g);
                        AdamCoeffs c = AdamCoeffs.of(1e-3, 0.9, 0.999, 1e-8, 0.01, step);
                        FourBitKernel.update(p1, gs, s1, c, S4, workers);
                        FourBitKernel.updateScalar(p2, gs, s2, c, S4, workers);
                        String what = shape[0] + "x" + shape[1] + ", " + threads + " threads, step " + step;
                        assertArrayEquals(p2.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED),
                                p1.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED), "parameters, " + what);
                        assertArrayEquals(s2.vCodes(), s1.vCodes(), "second-moment codes, " + what);
                        assertArrayEquals(s2.mCodes(), s1.mCodes(), "first-moment codes, " + what);
                        assertArrayEquals(s2.rowMaxBits(), s1.rowMaxBits(), "row maxima, " + what);
                        assertArrayEquals(s2.colMaxBits(), s1.colMaxBits(), "column maxima, " + what);
                        assertArrayEquals(s2.mAbsmax(), s1.mAbsmax(), "first-moment absmax, " + what);
                    }
                }
            }
        }
    }

    @Test
    void nibbleEncoderMatchesTheScalarEncoderAtEveryMidpoint() {
        float[] map = DynamicMaps.signed4();
        float[] x = new float[3 * 15 + 6];
        int k = 0;
        for (int j = 0; j + 1 < map.length; j++) {
            float mid = (map[j] + map[j + 1]) / 2f;
            x[k++] = mid;
            x[k++] = Math.nextUp(mid);
            x[k++] = Math.nextDown(mid);
        }
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, -Float.NaN};
        System.arraycopy(special, 0, x, k, special.length);
        byte[] codes = new byte[x.length / 2 + 2];
        S4.encodeNibbles(x, x.length, 1f, codes, 2, new int[8]);
        for (int i = 0; i < x.length; i++) {
            assertEquals(S4.encodeReference(x[i]), FourBitState.nibble(codes, 2 + i), "x = " + x[i]);
        }
    }
}
