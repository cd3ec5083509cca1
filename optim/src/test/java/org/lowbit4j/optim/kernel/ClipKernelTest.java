package org.lowbit4j.optim.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The clipping kernels against their scalar twins. */
class ClipKernelTest {
    private static MemorySegment segment(Arena arena, float[] a) {
        MemorySegment s = arena.allocate(4L * a.length, 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, a.length);
        return s;
    }

    /** Values over 30 binades and both signs, so that the order of the additions shows in the bits. */
    private static float[] wide(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextBoolean() ? 1 : -1) * Math.pow(2, 15 - 30 * r.nextDouble()));
        }
        return a;
    }

    @Test
    void sumOfSquaresEqualsTheScalarTwinBitwise() {
        Random r = new Random(11);
        float[] x = wide(r, 3 * ClipKernel.CHUNK + 77);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = segment(arena, x);
            for (int n : new int[] {0, 1, 15, 16, 17, 31, 1000, ClipKernel.CHUNK}) {
                for (long from : new long[] {0, 3, ClipKernel.CHUNK + 5}) {
                    double v = ClipKernel.sumSquares(s, from, n);
                    double w = ClipKernel.sumSquaresScalar(s, from, n);
                    assertEquals(Double.doubleToRawLongBits(w), Double.doubleToRawLongBits(v), "n " + n + " from " + from);
                }
            }
            // The order is the documented one: 16 accumulators, then the tail.
            float[] small = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1e8f, 3};
            MemorySegment t = segment(arena, small);
            double expected = 0;
            for (int j = 0; j < 16; j++) {
                expected += (double) small[j] * small[j];
            }
            expected += 1e16;
            expected += 9;
            assertEquals(expected, ClipKernel.sumSquares(t, 0, small.length), 0.0);
        }
    }

    @Test
    void specialValuesAndExtremeRangesFollowTheTwin() {
        try (Arena arena = Arena.ofConfined()) {
            float[][] cases = {
                {0f, -0f, 0f},
                {Float.MIN_VALUE, 3 * Float.MIN_VALUE, -Float.MIN_VALUE},   // all subnormal: scaled up exactly
                {Float.MAX_VALUE, -Float.MAX_VALUE, 1f},                    // squares beyond float: scaled down
                {1f, Float.NaN, 2f},
                {1f, Float.NEGATIVE_INFINITY, 2f},
            };
            for (int c = 0; c < cases.length; c++) {
                float[] x = new float[40];
                for (int i = 0; i < x.length; i++) {
                    x[i] = cases[c][i % cases[c].length] * (i < 30 ? 1 : 0);
                }
                MemorySegment s = segment(arena, x);
                double v = ClipKernel.sumSquares(s, 0, x.length);
                assertEquals(Double.doubleToRawLongBits(ClipKernel.sumSquaresScalar(s, 0, x.length)),
                        Double.doubleToRawLongBits(v), "case " + c);
                double plain = 0;
                for (float f : x) {
                    plain += (double) f * f;
                }
                // The plain double sum is exact here (few, exact squares).
                if (Double.isNaN(plain)) {
                    assertTrue(Double.isNaN(v), "case " + c);
                } else {
                    assertEquals(plain, v, Math.abs(plain) * 1e-14, "case " + c);
                }
            }
        }
    }

    @Test
    void squaresAreExactSoTheSumMatchesAPlainDoubleSumClosely() {
        Random r = new Random(12);
        float[] x = wide(r, ClipKernel.CHUNK);
        double plain = 0;
        for (float v : x) {
            plain += (double) v * v;
        }
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(plain, ClipKernel.sumSquares(segment(arena, x), 0, x.length), 1e-13 * plain);
        }
    }

    @Test
    void scaleEqualsTheScalarTwinBitwise() {
        Random r = new Random(13);
        float[] x = wide(r, 1000);
        x[5] = Float.NaN;
        x[6] = Float.POSITIVE_INFINITY;
        x[7] = -0f;
        x[8] = Float.MIN_VALUE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = segment(arena, x);
            MemorySegment b = segment(arena, x);
            ClipKernel.scale(a, 3, 990, 0.3712f);
            ClipKernel.scaleScalar(b, 3, 990, 0.3712f);
            assertArrayEquals(b.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED), a.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED));
            assertEquals(x[0], a.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0));
            assertEquals(x[10] * 0.3712f, a.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 10));
        }
    }
}
