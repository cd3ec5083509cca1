package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DynamicMapsTest {
    /** Independent float64 construction of the maps, straight from the definition. */
    private static double[] reference(boolean signed, int exps, int perIShift) {
        java.util.List<Double> v = new java.util.ArrayList<>();
        for (int i = 0; i < exps; i++) {
            int mids = 1 << (i + perIShift);
            double scale = Math.pow(10, i - (exps - 1));
            for (int j = 0; j < mids; j++) {
                double a = 0.1 + 0.9 * j / mids;
                double b = 0.1 + 0.9 * (j + 1) / mids;
                v.add(scale * (a + b) / 2);
                if (signed) {
                    v.add(-scale * (a + b) / 2);
                }
            }
        }
        v.add(0.0);
        v.add(1.0);
        return v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }

    private static void assertWithinUlp(double[] ref, float[] got) {
        assertWithinUlp(ref, got, -1);
    }

    /** Within one ulp of the exact value, except {@code twoUlpIndex} (documented float32 drift) within two. */
    private static void assertWithinUlp(double[] ref, float[] got, int twoUlpIndex) {
        assertEquals(ref.length, got.length);
        for (int i = 0; i < ref.length; i++) {
            float r = (float) ref[i];
            float tol = (i == twoUlpIndex ? 2 : 1) * Math.ulp(r);
            assertTrue(Math.abs(got[i] - r) <= tol, "index " + i + ": " + got[i] + " vs " + ref[i]);
        }
    }

    @Test
    void signed8MatchesDefinitionWithinOneUlp() {
        float[] m = DynamicMaps.signed8();
        assertWithinUlp(reference(true, 7, 0), m);
        assertEquals(1.0f, m[255]);
        assertEquals(-0.99296875f, m[0], 1e-7f);
        assertEquals(1, countZeros(m));
    }

    private static long countZeros(float[] m) {
        long z = 0;
        for (float f : m) {
            if (f == 0f) {
                z++;
            }
        }
        return z;
    }

    @Test
    void unsigned8IsCloseToTheExactDefinition() {
        float[] m = DynamicMaps.unsigned8();
        // NOTE: the maps follow PyTorch's float32 linspace bit for bit (DynamicMapsGoldenTest), whose
        // rounding drifts a few ulps from the exact values; this only bounds that drift.
        double[] exact = reference(false, 7, 1);
        for (int i = 0; i < m.length; i++) {
            assertTrue(Math.abs(m[i] - exact[i]) <= 4 * Math.ulp((float) exact[i]), i + ": " + m[i] + " vs " + exact[i]);
        }
        assertEquals(0f, m[0]);
        assertEquals(1.0f, m[255]);
    }

    @Test
    void signed4IsTheExactSixteenValues() {
        float[] m = DynamicMaps.signed4();
        float[] expect = {-0.8875f, -0.6625f, -0.4375f, -0.2125f, -0.0775f, -0.0325f, -0.0055f, 0f,
            0.0055f, 0.0325f, 0.0775f, 0.2125f, 0.4375f, 0.6625f, 0.8875f, 1f};
        for (int i = 0; i < 16; i++) {
            assertTrue(Math.abs(m[i] - expect[i]) <= Math.ulp(expect[i]), i + ": " + m[i] + " vs " + expect[i]);
        }
        assertWithinUlp(reference(true, 3, 0), m);
    }

    @Test
    void accessorsReturnDefensiveSortedCopies() {
        float[] a = DynamicMaps.signed8();
        a[0] = 42f;
        float[] b = DynamicMaps.signed8();
        assertNotSame(a, b);
        assertTrue(b[0] < 0);
        float[] sorted = b.clone();
        Arrays.sort(sorted);
        assertArrayEquals(sorted, b);
    }

    @Test
    void torchLinspaceCountsDownInTheSecondHalf() {
        float[] l = DynamicMaps.torchLinspace(0.1f, 1f, 5);
        assertEquals(0.1f, l[0]);
        assertEquals(1f, l[4]);
        float step = (1f - 0.1f) / 4f;
        assertEquals(0.1f + step, l[1]);
        assertEquals(1f - step * 2, l[2]);
        assertEquals(1f - step, l[3]);
    }
}
