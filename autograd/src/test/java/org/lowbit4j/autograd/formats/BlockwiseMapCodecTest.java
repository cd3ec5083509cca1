package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class BlockwiseMapCodecTest {
    private static float[] randn(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * (i % 7 == 0 ? 10 : 1));
        }
        return x;
    }

    @Test
    void vectorEqualsScalarOnOddTails() {
        for (float[] map : new float[][] {DynamicMaps.signed8(), DynamicMaps.unsigned8(), DynamicMaps.signed4()}) {
            for (int len : new int[] {1, 7, 8, 9, 63, 257, 1000, 4099}) {
                for (int block : new int[] {5, 64, 256, 2048}) {
                    float[] x = randn(len + 3, len * 31L + block);
                    int blocks = BlockwiseMapCodec.blockCount(len, block);
                    byte[] c1 = new byte[len + 2];
                    byte[] c2 = new byte[len + 2];
                    float[] a1 = new float[blocks + 1];
                    float[] a2 = new float[blocks + 1];
                    BlockwiseMapCodec.quantize(x, 3, len, map, block, c1, 2, a1, 1);
                    BlockwiseMapCodec.quantizeScalar(x, 3, len, map, block, c2, 2, a2, 1);
                    assertArrayEquals(c2, c1, "codes len " + len + " block " + block);
                    assertArrayEquals(a2, a1);
                    float[] d1 = new float[len + 1];
                    float[] d2 = new float[len + 1];
                    BlockwiseMapCodec.dequantize(c1, 2, len, map, block, a1, 1, d1, 1);
                    BlockwiseMapCodec.dequantizeScalar(c1, 2, len, map, block, a1, 1, d2, 1);
                    assertArrayEquals(d2, d1);
                }
            }
        }
    }

    @Test
    void codesAreNearestMapValuesAndTiesGoLower() {
        float[] map = DynamicMaps.signed8();
        float[] x = randn(4096, 7);
        byte[] codes = new byte[x.length];
        float[] absmax = new float[x.length / 64];
        BlockwiseMapCodec.quantize(x, 0, x.length, map, 64, codes, 0, absmax, 0);
        for (int i = 0; i < x.length; i++) {
            float v = x[i] * (1f / absmax[i / 64]);
            int c = codes[i] & 0xFF;
            for (int k = 0; k < map.length; k++) {
                assertTrue(Math.abs(v - map[c]) <= Math.abs(v - map[k]), "element " + i + " code " + c + " vs " + k);
            }
        }
        for (int k = 0; k + 1 < map.length; k++) {
            float mid = (map[k] + map[k + 1]) / 2f;
            if (mid != map[k] && mid != map[k + 1]) {
                assertEquals(k, BlockwiseMapCodec.nearestCode(map, mid), "tie at midpoint " + k);
                assertEquals(k + 1, BlockwiseMapCodec.nearestCode(map, Math.nextUp(mid)));
            }
        }
    }

    @Test
    void everyMapAgreesWithBruteForceAndTheScalarTwin() {
        float[][] maps = {DynamicMaps.unsigned8(), DynamicMaps.signed4(), {-3f, -0.5f, 0f, 0.25f, 2f},
            {-1f, 1f}};
        Random r = new Random(21);
        for (float[] map : maps) {
            int n = 20_000;
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = switch (i % 4) {
                    case 0 -> (float) r.nextGaussian();
                    case 1 -> (float) (r.nextGaussian() * 1e-4);
                    case 2 -> (float) ((r.nextDouble() * 2 - 1) * 4);
                    default -> map[r.nextInt(map.length)];
                };
            }
            for (float x : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE,
                -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, 0f, -0f}) {
                int best = 0;
                for (int k = 1; k < map.length; k++) {
                    if (x > (map[best] + map[k]) / 2f) {
                        best = k;
                    }
                }
                assertEquals(best, BlockwiseMapCodec.nearestCode(map, x), "special value " + x);
            }
            assertEquals(0, BlockwiseMapCodec.nearestCode(map, Float.NaN));
            for (int i = 0; i < n; i++) {
                int c = BlockwiseMapCodec.nearestCode(map, v[i]);
                int best = 0;
                for (int k = 1; k < map.length; k++) {
                    if (v[i] > (map[best] + map[k]) / 2f) {
                        best = k;
                    }
                }
                assertEquals(best, c, "value " + v[i]);
            }
            byte[] c1 = new byte[n];
            byte[] c2 = new byte[n];
            float[] a1 = new float[n / 100];
            float[] a2 = new float[n / 100];
            BlockwiseMapCodec.quantize(v, 0, n, map, 100, c1, 0, a1, 0);
            BlockwiseMapCodec.quantizeScalar(v, 0, n, map, 100, c2, 0, a2, 0);
            assertArrayEquals(c2, c1);
        }
    }

    @Test
    void tinyBlocksAreNormalisedByDivision() {
        float[] x = new float[20];
        for (int i = 0; i < 20; i++) {
            x[i] = (i % 3 - 1) * Float.MIN_VALUE * (1 + i % 2);
        }
        byte[] c1 = new byte[20];
        byte[] c2 = new byte[20];
        float[] a1 = new float[1];
        float[] a2 = new float[1];
        float[] map = DynamicMaps.signed8();
        BlockwiseMapCodec.quantize(x, 0, 20, map, 20, c1, 0, a1, 0);
        BlockwiseMapCodec.quantizeScalar(x, 0, 20, map, 20, c2, 0, a2, 0);
        assertArrayEquals(c2, c1);
        float[] d = new float[20];
        BlockwiseMapCodec.dequantize(c1, 0, 20, map, 20, a1, 0, d, 0);
        for (int i = 0; i < 20; i++) {
            assertEquals(x[i], d[i], Float.MIN_VALUE, "element " + i);
        }
    }

    @Test
    void absmaxIsPerBlockAndTheMaximumRoundTripsExactly() {
        float[] x = {0.5f, -2f, 1f, 0f, 0f, 0f, 3f};
        byte[] codes = new byte[7];
        float[] absmax = new float[3];
        BlockwiseMapCodec.quantize(x, 0, 7, DynamicMaps.signed8(), 3, codes, 0, absmax, 0);
        assertArrayEquals(new float[] {2f, 0f, 3f}, absmax);
        float[] d = new float[7];
        BlockwiseMapCodec.dequantize(codes, 0, 7, DynamicMaps.signed8(), 3, absmax, 0, d, 0);
        assertEquals(3f, d[6]);
        assertEquals(0f, d[3]);
        assertEquals(0f, d[5]);
    }

    @Test
    void rejectsNonFiniteValuesAndShortArrays() {
        float[] x = {1f, Float.NaN};
        var e = assertThrows(IllegalArgumentException.class, () -> BlockwiseMapCodec.quantize(x, 0, 2,
                DynamicMaps.signed8(), 64, new byte[2], 0, new float[1], 0));
        assertTrue(e.getMessage().contains("block 0"));
        assertThrows(IllegalArgumentException.class, () -> BlockwiseMapCodec.quantize(x, 0, 2,
                DynamicMaps.signed8(), 1, new byte[2], 0, new float[1], 0));
    }
}
