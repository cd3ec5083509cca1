package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class IntTernaryBinaryTest {
    @Test
    void codeRangesForEveryWidth() {
        for (int k = 2; k <= 8; k++) {
            assertEquals(-((1 << (k - 1)) - 1), IntCodec.symmetric(k).qmin());
            assertEquals((1 << (k - 1)) - 1, IntCodec.symmetric(k).qmax());
            assertEquals(-(1 << (k - 1)), new IntCodec(k, IntCodec.Mode.SYMMETRIC_FULL).qmin());
            assertEquals(0, IntCodec.asymmetric(k).qmin());
            assertEquals((1 << k) - 1, IntCodec.asymmetric(k).qmax());
        }
        assertThrows(IllegalArgumentException.class, () -> IntCodec.symmetric(1));
        assertThrows(IllegalArgumentException.class, () -> IntCodec.symmetric(9));
    }

    @Test
    void symmetricInt8GoldenValues() {
        var c = IntCodec.symmetric(8);
        var p = c.params(-2f, 1.27f);
        assertEquals(2f / 127, p.scale());
        assertEquals(127, c.encode(2f, p));
        assertEquals(-127, c.encode(-5f, p));
        // Ties go to even: 0.5 and 1.5 steps.
        assertEquals(0, c.encode(0.5f * p.scale(), p));
        assertEquals(2, c.encode(1.5f * p.scale(), p));
    }

    @Test
    void asymmetricUsesAnIntegerZeroPointAndMapsZeroExactly() {
        var c = IntCodec.asymmetric(4);
        var p = c.params(-1f, 2f);
        assertEquals(3f / 15, p.scale());
        assertEquals(5, p.zeroPoint());
        assertEquals(0f, c.decode(c.encode(0f, p), p));
        assertEquals(0, c.encode(-10f, p));
        assertEquals(15, c.encode(10f, p));
        // A range that excludes 0 is widened to include it.
        var q = c.params(1f, 2f);
        assertEquals(0, q.zeroPoint());
        assertEquals(2f / 15, q.scale());
    }

    @Test
    void vectorEqualsScalarOnOddTails() {
        Random r = new Random(1);
        for (IntCodec c : new IntCodec[] {IntCodec.symmetric(8), IntCodec.symmetric(3),
            new IntCodec(4, IntCodec.Mode.SYMMETRIC_FULL), IntCodec.asymmetric(8), IntCodec.asymmetric(2)}) {
            for (int n : new int[] {1, 7, 9, 100, 1027}) {
                float[] x = new float[n + 1];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian() * 3;
                }
                x[x.length / 2] = Float.NaN;
                x[x.length - 1] = Float.NEGATIVE_INFINITY;
                x[0] = Float.POSITIVE_INFINITY;
                var p = c.params(-4f, 5f);
                byte[] a = new byte[n];
                byte[] b = new byte[n];
                c.encode(x, 1, n, p, a, 0);
                c.encodeScalar(x, 1, n, p, b, 0);
                assertArrayEquals(b, a, c + " n=" + n);
                float[] da = new float[n];
                float[] db = new float[n];
                c.decode(a, 0, n, p, da, 0);
                c.decodeScalar(a, 0, n, p, db, 0);
                assertArrayEquals(db, da);
                for (int i = 0; i < n; i++) {
                    float want = c.decode(c.encode(x[i + 1], p), p);
                    assertEquals(want, da[i]);
                }
            }
        }
    }

    @Test
    void ternaryIsAbsmeanRoundClamp() {
        float[] w = {0.9f, -0.1f, 0.3f, -2.0f, 0.0f, 0.2f};
        byte[] codes = new byte[6];
        float s = Ternary.quantize(w, 0, 6, codes, 0);
        assertEquals((0.9f + 0.1f + 0.3f + 2.0f + 0.2f) / 6, s, 1e-7f);
        // w/s = 1.54, -0.17, 0.51, -3.43, 0, 0.34 -> rint then clamp: 1, 0, 1, -1, 0, 0
        assertArrayEquals(new byte[] {1, 0, 1, -1, 0, 0}, codes);
        assertEquals(Ternary.MIN_SCALE, Ternary.quantize(new float[4], 0, 4, new byte[4], 0));
    }

    @Test
    void binaryIsSignWithMeanAbsScaleMsbFirst() {
        float[] w = {1f, -2f, 0f, -0.5f, 3f, -1f, 1f, 1f, -4f};
        byte[] bits = new byte[2];
        float s = Binary.quantize(w, 0, 9, bits);
        assertEquals(13.5f / 9, s, 1e-6f);
        assertEquals((byte) 0b10101011, bits[0]);
        assertEquals((byte) 0, bits[1]);
        assertEquals(s, Binary.decode(bits, 0, s));
        assertEquals(-s, Binary.decode(bits, 8, s));
    }
}
