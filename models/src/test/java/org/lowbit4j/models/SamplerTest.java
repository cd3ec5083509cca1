package org.lowbit4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * Golden values produced by a C program compiled with gcc (-O0 -ffp-contract=off) implementing
 * run.c's random_u32 / random_f32 / softmax / sample_mult / sample_topp (qsort from glibc).
 */
class SamplerTest {
    @Test
    void xorshiftMatchesC() {
        var s = new Sampler(4, 1f, 0f, 42);
        long[] u = new long[5];
        for (int i = 0; i < 5; i++) {
            u[i] = s.randomU32();
        }
        assertArrayEquals(new long[] {1456360119L, 3359763283L, 3393612768L, 4054632243L, 3283045847L}, u);
        var f = new Sampler(4, 1f, 0f, 42);
        float[] expected = {0.339085221f, 0.782255828f, 0.790136993f, 0.944042623f, 0.764393628f};
        for (float e : expected) {
            assertEquals(e, f.randomF32());
        }
    }

    private static float[] logits() {
        float[] l = new float[64];
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) Math.sin(i * 0.7f) * 3.0f + (i % 5) * 0.25f;
        }
        return l;
    }

    private static int[] draw(Sampler s, int n) {
        float[] l = logits();
        int[] out = new int[n];
        for (int k = 0; k < n; k++) {
            out[k] = s.sample(l);
        }
        return out;
    }

    @Test
    void multinomialSamplingMatchesC() {
        int[] expected = {39, 20, 29, 20, 57, 11, 29, 2, 21, 29, 20, 38, 18, 47, 38, 56, 56, 49, 28, 19, 21, 20, 38, 2,
            29, 31, 38, 47, 29, 3};
        assertArrayEquals(expected, draw(new Sampler(64, 0.8f, 1.0f, 1234), 30));
        assertArrayEquals(expected, draw(new Sampler(64, 0.8f, 0.0f, 1234), 30), "topp 0 also means no nucleus");
    }

    @Test
    void topPSamplingMatchesC() {
        int[] expected = {12, 47, 2, 39, 46, 38, 3, 29, 39, 2, 39, 48, 47, 57, 11, 21, 30, 28, 39, 47, 39, 39, 48, 29, 2,
            56, 11, 20, 3, 29};
        assertArrayEquals(expected, draw(new Sampler(64, 0.8f, 0.9f, 1234), 30));
    }

    @Test
    void greedyTakesTheFirstMaximumAndLeavesLogitsAlone() {
        float[] l = {0.5f, 2f, -1f, 2f};
        var s = Sampler.greedy(4);
        assertEquals(1, s.sample(l));
        float[] t = {0.5f, 2f, -1f, 2f};
        new Sampler(4, 1f, 0.9f, 3).sample(t);
        assertArrayEquals(l, t, "sample does not modify the caller's logits");
    }

    @Test
    void badArguments() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(0, 0f, 0.9f, 1));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(4, -1f, 0.9f, 1));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(4, Float.NaN, 0.9f, 1));
        var e = assertThrows(IllegalArgumentException.class, () -> Sampler.greedy(4).sample(new float[3]));
        assertEquals("expected 4 logits, got 3", e.getMessage());
    }
}
