package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Fp8Test {
    private static int maxCode(Fp8 f) {
        return f == Fp8.E4M3FN ? 0x7E : 0x7B;
    }

    /** Textbook value of a code, written independently of the codec. */
    private static double formula(Fp8 f, int c) {
        int m = f == Fp8.E4M3FN ? 3 : 2;
        int bias = f == Fp8.E4M3FN ? 7 : 15;
        int e = (c & 0x7F) >> m;
        int man = c & ((1 << m) - 1);
        double s = (c & 0x80) != 0 ? -1 : 1;
        if (f == Fp8.E4M3FN && (c & 0x7F) == 0x7F) {
            return Double.NaN;
        }
        if (f == Fp8.E5M2 && e == 31) {
            return man == 0 ? s * Double.POSITIVE_INFINITY : Double.NaN;
        }
        return e == 0 ? s * man * Math.pow(2, 1 - bias - m) : s * Math.pow(2, e - bias) * (1 + man / Math.pow(2, m));
    }

    private static RoundingReference reference(Fp8 f) {
        double[] v = new double[maxCode(f) + 1];
        for (int c = 0; c < v.length; c++) {
            v[c] = formula(f, c);
        }
        return new RoundingReference(v, f == Fp8.E4M3FN ? 480 : 65536);
    }

    private static int expected(Fp8 f, RoundingReference ref, float x, boolean sat) {
        int sign = (Float.floatToRawIntBits(x) >>> 24) & 0x80;
        if (Float.isNaN(x)) {
            return -1;
        }
        int m = ref.encodeMagnitude(x);
        if (m < 0) {
            m = sat ? maxCode(f) : (f == Fp8.E4M3FN ? 0x7F : 0x7C);
        }
        return sign | m;
    }

    @Test
    void all256CodesDecodeRightAndReencodeToThemselves() {
        assertEquals(448f, Fp8.E4M3FN.max());
        assertEquals(57344f, Fp8.E5M2.max());
        assertEquals(0x1p-9f, Fp8.E4M3FN.decode(0x01));
        assertEquals(0x1p-16f, Fp8.E5M2.decode(0x01));
        assertEquals(Float.NEGATIVE_INFINITY, Fp8.E5M2.decode(0xFC));
        for (Fp8 f : Fp8.values()) {
            int nans = 0;
            for (int c = 0; c < 256; c++) {
                double want = formula(f, c);
                float got = f.decode(c);
                if (Double.isNaN(want)) {
                    assertTrue(Float.isNaN(got), f + " code " + c);
                    nans++;
                    assertTrue(Float.isNaN(f.decode(f.encode(got, true))));
                    continue;
                }
                assertEquals(want, got, 0.0, f + " code " + c);
                assertEquals(Math.copySign(1.0, want), Math.copySign(1f, got), "sign of code " + c);
                if (Float.isInfinite(got)) {
                    assertEquals(c, f.encode(got, false));
                    assertEquals((c & 0x80) | 0x7B, f.encode(got, true), "saturating inf");
                } else {
                    assertEquals(c, f.encode(got, false), f + " code " + c);
                    assertEquals(c, f.encode(got, true), f + " code " + c);
                }
            }
            assertEquals(f == Fp8.E4M3FN ? 2 : 6, nans, f + " NaN codes");
        }
    }

    @Test
    void encodingMatchesTheSlowReferenceOnAllFp16ValuesAndRandomFloats() {
        Random r = new Random(11);
        float[] xs = new float[65536 + 300_000];
        for (int h = 0; h < 65536; h++) {
            xs[h] = Float.float16ToFloat((short) h);
        }
        for (int i = 65536; i < xs.length; i++) {
            // Random signs, exponents across and beyond both ranges, random mantissas.
            int e = 127 - 30 + r.nextInt(50);
            xs[i] = Float.intBitsToFloat((r.nextBoolean() ? 0x80000000 : 0) | (e << 23) | r.nextInt(1 << 23));
        }
        for (Fp8 f : Fp8.values()) {
            RoundingReference ref = reference(f);
            for (boolean sat : new boolean[] {false, true}) {
                for (float x : xs) {
                    int want = expected(f, ref, x, sat);
                    int got = f.encode(x, sat);
                    if (want < 0) {
                        assertTrue(Float.isNaN(f.decode(got)), f + " NaN input " + x);
                    } else {
                        assertEquals(want, got, f + " sat=" + sat + " x=" + x);
                    }
                }
            }
        }
    }

    @Test
    void tiesGoToEvenAndOverflowFollowsTheMode() {
        // 464 is halfway between 448 (mantissa 110, even) and 480 (the NaN slot): rounds to 448.
        assertEquals(0x7E, Fp8.E4M3FN.encode(464f, false));
        assertEquals(0x7F, Fp8.E4M3FN.encode(Math.nextUp(464f), false));
        assertEquals(0x7E, Fp8.E4M3FN.encode(1e9f, true));
        assertEquals(0xFE, Fp8.E4M3FN.encode(Float.NEGATIVE_INFINITY, true));
        // 61440 is halfway between 57344 (odd mantissa 11) and 65536 (even): rounds to infinity.
        assertEquals(0x7C, Fp8.E5M2.encode(61440f, false));
        assertEquals(0x7B, Fp8.E5M2.encode(61440f, true));
        assertEquals(0x7B, Fp8.E5M2.encode(Math.nextDown(61440f), false));
        // Half the smallest subnormal rounds to 0 (even); a bit more rounds up.
        assertEquals(0x00, Fp8.E4M3FN.encode(0x1p-10f, false));
        assertEquals(0x01, Fp8.E4M3FN.encode(Math.nextUp(0x1p-10f), false));
        assertEquals(0x02, Fp8.E4M3FN.encode(3 * 0x1p-10f, false));
        assertEquals(0x80, Fp8.E5M2.encode(-0x1p-17f, false));
        assertEquals(0xFF, Fp8.E4M3FN.encode(-Float.NaN, true) | 0x80);
    }

    @Test
    void vectorEqualsScalarOnOddTails() {
        Random r = new Random(5);
        for (Fp8 f : Fp8.values()) {
            for (int n : new int[] {1, 7, 9, 31, 1001}) {
                float[] x = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = switch (i % 11) {
                        case 0 -> Float.NaN;
                        case 1 -> Float.NEGATIVE_INFINITY;
                        case 2 -> (float) (r.nextGaussian() * 1e5);
                        case 3 -> (float) (r.nextGaussian() * 1e-5);
                        default -> (float) (r.nextGaussian() * 10);
                    };
                }
                for (boolean sat : new boolean[] {false, true}) {
                    byte[] a = new byte[n];
                    byte[] b = new byte[n];
                    f.encode(MemorySegment.ofArray(x), MemorySegment.ofArray(a), n, sat);
                    f.encodeScalar(MemorySegment.ofArray(x), MemorySegment.ofArray(b), n, sat);
                    assertArrayEquals(b, a, f + " n=" + n + " sat=" + sat);
                    float[] da = new float[n];
                    float[] db = new float[n];
                    f.decode(MemorySegment.ofArray(a), MemorySegment.ofArray(da), n);
                    f.decodeScalar(MemorySegment.ofArray(a), MemorySegment.ofArray(db), n);
                    assertArrayEquals(db, da);
                }
            }
        }
    }
}
