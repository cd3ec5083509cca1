package org.lowbit4j.optim.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.formats.BlockwiseMapCodec;
import org.lowbit4j.autograd.formats.DynamicMaps;

class MapEncoderTest {
    private static final float[][] MAPS = {DynamicMaps.signed8(), DynamicMaps.unsigned8(), DynamicMaps.signed4()};
    /** Every map plainly, then the 8-bit ones with positiveNeverZero (the second moment's rounding). */
    private static final MapEncoder[] ENCODERS = {new MapEncoder(MAPS[0]), new MapEncoder(MAPS[1]),
        new MapEncoder(MAPS[2]), new MapEncoder(MAPS[0], true), new MapEncoder(MAPS[1], true)};

    @Test
    void fastEncodeEqualsBinarySearchAndTheFormatsCodec() {
        Random r = new Random(1);
        for (MapEncoder enc : ENCODERS) {
            float[] map = enc.values();
            boolean plain = !enc.positiveNeverZero();
            float[] special = {0f, -0f, 1f, -1f, 1.0000001f, -1.0000001f, Float.MIN_VALUE, -Float.MIN_VALUE,
                Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e-8f, 2e-7f};
            for (float x : special) {
                assertEquals(enc.encodeReference(x), enc.encode(x), "x = " + x);
                assertEquals(nearest(enc, x), enc.encode(x), "x = " + x);
            }
            // Every midpoint and its float neighbours: the decision boundaries themselves.
            for (int k = 0; k + 1 < map.length; k++) {
                float mid = (map[k] + map[k + 1]) / 2f;
                for (float x : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                    assertEquals(enc.encodeReference(x), enc.encode(x), "x = " + x);
                    assertEquals(nearest(enc, x), enc.encode(x), "x = " + x);
                }
            }
            for (int i = 0; i < 200_000; i++) {
                float x = (float) ((r.nextBoolean() ? 1 : -1) * Math.pow(10, -9 * r.nextDouble()));
                assertEquals(enc.encodeReference(x), enc.encode(x), "x = " + x);
            }
            for (int i = 0; i < 20_000; i++) {
                float x = (float) (2 * r.nextDouble() - 1);
                assertEquals(nearest(enc, x), enc.encode(x), "x = " + x);
            }
            assertEquals(plain, !enc.positiveNeverZero());
        }
    }

    /**
     * The specification: the formats codec's nearest code, moved one code up for a positive value that would
     * take the zero code when the encoder keeps positives off it.
     */
    private static int nearest(MapEncoder enc, float x) {
        int c = BlockwiseMapCodec.nearestCode(enc.values(), x);
        return enc.positiveNeverZero() && x > 0 && c == enc.zeroCode() ? c + 1 : c;
    }

    @Test
    void positiveNeverZeroKeepsEveryPositiveOffTheZeroCodeAndChangesNothingElse() {
        Random r = new Random(5);
        for (float[] map : new float[][] {DynamicMaps.unsigned8(), DynamicMaps.signed8()}) {
            var plain = new MapEncoder(map);
            var nz = new MapEncoder(map, true);
            assertTrue(nz.positiveNeverZero());
            assertTrue(nz.exactEntries() && nz.nonNegativeThresholds() == plain.nonNegativeThresholds(),
                    "kernels keep their fast path");
            int zero = plain.zeroCode();
            float firstMid = (map[zero] + map[zero + 1]) / 2f;
            int changed = 0;
            for (int i = 0; i < 300_000; i++) {
                // Every sign, binade and mantissa, subnormals and the first midpoint's neighbourhood included.
                float x = switch (i % 3) {
                    case 0 -> Float.intBitsToFloat(r.nextInt());
                    case 1 -> firstMid * r.nextFloat() * 1.01f;
                    default -> Float.MIN_VALUE * r.nextInt(1 << 20);
                };
                if (Float.isNaN(x)) {
                    continue;
                }
                int want = plain.encode(x);
                if (x > 0 && want == zero) {
                    want = zero + 1;
                    changed++;
                }
                assertEquals(want, nz.encode(x), "x = " + x);
                assertEquals(want, nz.encodeReference(x), "x = " + x);
                if (x > 0) {
                    assertTrue(nz.value(nz.encode(x)) > 0f, "positive " + x + " decodes to 0");
                }
            }
            assertTrue(changed > 50_000, "the test reached the changed range: " + changed);
            for (float x : new float[] {0f, -0f, Float.MIN_VALUE, Math.nextDown(firstMid), firstMid,
                Math.nextUp(firstMid)}) {
                int want = x > 0 && x <= firstMid ? zero + 1 : plain.encode(x);
                assertEquals(want, nz.encode(x), "x = " + x);
            }
            // Its resolution covers the widened range of the smallest positive code: (0, value] all map there.
            float smallest = nz.value(zero + 1);
            assertTrue(nz.resolution(zero + 1) >= smallest, "resolution " + nz.resolution(zero + 1));
        }
    }

    @Test
    void encodesToTheNearestValueWithinTheMapsResolution() {
        Random r = new Random(2);
        for (float[] map : MAPS) {
            var enc = new MapEncoder(map);
            float lo = map[0];
            for (int i = 0; i < 50_000; i++) {
                float x = lo + (1 - lo) * r.nextFloat();
                int c = enc.encode(x);
                float err = Math.abs(enc.value(c) - x);
                assertTrue(err <= enc.resolution(c) + 1e-7f, "x = " + x + " code " + c + " err " + err);
                // Nearest: no other code is strictly closer.
                for (int k = Math.max(0, c - 1); k <= Math.min(map.length - 1, c + 1); k++) {
                    assertTrue(Math.abs(map[k] - x) >= err - 1e-7f, "code " + k + " closer to " + x);
                }
            }
            assertEquals(0f, enc.value(enc.zeroCode()));
        }
    }

    @Test
    void vectorEncodeAndDecodeEqualScalar() {
        Random r = new Random(3);
        for (MapEncoder enc : ENCODERS) {
            float[] map = enc.values();
            int n = 1003;
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) ((r.nextBoolean() ? 1 : -1) * Math.pow(10, -9 * r.nextDouble()));
            }
            x[3] = Float.NaN;   // a NaN bucket inside a vector (exact entries for 256 codes, slow otherwise)
            x[17] = Float.POSITIVE_INFINITY;
            x[18] = 0f;
            x[19] = -0f;
            x[40] = Float.NEGATIVE_INFINITY;
            x[41] = Float.intBitsToFloat(0xFFC00001);   // a negative NaN
            x[42] = Float.intBitsToFloat(0x7F800001);   // a NaN in +inf's bucket
            x[43] = Float.intBitsToFloat(0x7F80FFFF);
            float inv = 1.25f;
            int[] ix = new int[8];
            byte[] codes = new byte[n + 5];
            enc.encodeBytes(x, n, inv, codes, 5, ix);
            for (int i = 0; i < n; i++) {
                assertEquals(enc.encode(x[i] * inv), codes[5 + i] & 0xFF, "x = " + x[i]);
            }
            if (map.length == 16) {
                byte[] nib = new byte[(n + 1) / 2 + 1];
                enc.encodeNibbles(x, n, inv, nib, 2, ix);
                for (int i = 0; i < n; i++) {
                    assertEquals(enc.encode(x[i] * inv), FourBitState.nibble(nib, 2 + i), "x = " + x[i]);
                }
            } else {
                float[] out = new float[n];
                enc.decodeBytes(codes, 5, n, 0.75f, out, ix);
                for (int i = 0; i < n; i++) {
                    assertEquals(enc.value(codes[5 + i] & 0xFF) * 0.75f, out[i]);
                }
            }
        }
    }

    @Test
    void rawEntriesGiveTheCodeOfEveryBucketAndAreExactForThe8BitMaps() {
        int[] lows = {0, 1, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF};
        Random r = new Random(4);
        for (MapEncoder enc : ENCODERS) {
            float[] map = enc.values();
            int[] entries = enc.rawEntries();
            assertEquals(map.length == 256, enc.exactEntries());
            for (int u = 0; u < 1 << 16; u++) {
                for (int t = 0; t < lows.length + 2; t++) {
                    int bits = u << 16 | (t < lows.length ? lows[t] : r.nextInt(1 << 16));
                    int want = enc.encode(Float.intBitsToFloat(bits));
                    if (entries[u] < 0) {
                        assertTrue(map.length < 256, "slow bucket " + u);
                        continue;
                    }
                    assertEquals(want, ((entries[u] + MapEncoder.keyLow16(bits)) >>> 16) & 0xFF,
                            "bits " + Integer.toHexString(bits));
                    if (enc.nonNegativeThresholds()) {
                        assertEquals(want, ((entries[u] + (bits & 0xFFFF)) >>> 16) & 0xFF,
                                "raw low bits " + Integer.toHexString(bits));
                    }
                }
            }
        }
    }

    @Test
    void rejectsUnsortedMaps() {
        assertThrows(IllegalArgumentException.class, () -> new MapEncoder(new float[] {0f, 1f, 0.5f}));
        assertThrows(IllegalArgumentException.class, () -> new MapEncoder(new float[] {1f}));
    }
}
