package org.lowbit4j.autograd.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.Fp16;
import org.lowbit4j.autograd.formats.FourBitCodebook;
import org.lowbit4j.autograd.formats.Packed4Codec;

class RoundToNearestTest {
    private static float[] randn(int n) {
        Random r = new Random(6);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * 0.05);
        }
        return x;
    }

    @Test
    void fourBitFormatsMatchThePackedCodec() {
        float[] w = randn(64 * 9);
        for (String f : new String[] {"nf4", "fp4"}) {
            var cb = f.equals("nf4") ? FourBitCodebook.NF4 : FourBitCodebook.FP4;
            byte[] packed = new byte[w.length / 2];
            float[] absmax = new float[9];
            Packed4Codec.quantize(w, 0, w.length, cb, 64, packed, absmax);
            float[] d = new float[w.length];
            Packed4Codec.dequantize(packed, 0, w.length, cb, 64, absmax, 0, d, 0);
            assertArrayEquals(d, RoundToNearest.quantizeDequantize(w, f, 64), f);
        }
    }

    @Test
    void intFormatsUseAbsmaxLevelsAndPartialBlocks() {
        float[] w = {0.7f, -0.35f, 0.05f, 0.0f, 1f, /* block 2 */ 2f, -0.1f};
        float[] y = RoundToNearest.quantizeDequantize(w, "int4", 5);
        float step = 1f / 7;
        assertEquals(5 * step, y[0], 1e-7f);
        assertEquals(-2 * step, y[1], 1e-7f);
        assertEquals(0f, y[2], 0f);
        assertEquals(7 * step, y[4], 1e-7f);
        assertEquals(2f, y[5], 1e-7f);
        assertEquals(0f, y[6], 0f);
        float[] z = RoundToNearest.quantizeDequantize(w, "int8", 5);
        for (int i = 0; i < 5; i++) {
            assertEquals(w[i], z[i], 0.5f / 127 + 1e-7f);
        }
        assertArrayEquals(new float[3], RoundToNearest.quantizeDequantize(new float[3], "int8", 2));
    }

    @Test
    void fp8ScalesTheAbsmaxOntoTheFormatMaximum() {
        float[] w = randn(1000);
        for (String f : new String[] {"fp8-e4m3", "fp8-e5m2"}) {
            float[] y = RoundToNearest.quantizeDequantize(w, f, 100);
            for (int b = 0; b < 10; b++) {
                float a = 0;
                for (int i = b * 100; i < b * 100 + 100; i++) {
                    a = Math.max(a, Math.abs(w[i]));
                }
                for (int i = b * 100; i < b * 100 + 100; i++) {
                    double rel = f.equals("fp8-e4m3") ? 1.0 / 16 : 1.0 / 8;
                    assertTrue(Math.abs(y[i] - w[i]) <= Math.max(Math.abs(w[i]) * rel, a * 1e-3) + 1e-9,
                            f + " element " + i);
                    if (Math.abs(w[i]) == a) {
                        assertEquals(w[i], y[i], a * 1e-6f);
                    }
                }
            }
        }
    }

    @Test
    void halfFormatsAreElementWise() {
        float[] w = randn(77);
        float[] b = RoundToNearest.quantizeDequantize(w, "BF16", 1);
        float[] h = RoundToNearest.quantizeDequantize(w, "fp16", 3);
        for (int i = 0; i < w.length; i++) {
            assertEquals(Bf16.decode(Bf16.encode(w[i])), b[i]);
            assertEquals(Fp16.decode(Fp16.encode(w[i])), h[i]);
        }
    }

    @Test
    void subnormalBlocksStayFinite() {
        float[] w = {Float.MIN_VALUE, -3 * Float.MIN_VALUE, 0f, 7 * Float.MIN_VALUE};
        for (String f : RoundToNearest.FORMATS) {
            float[] y = RoundToNearest.quantizeDequantize(w, f, 4);
            for (int i = 0; i < w.length; i++) {
                assertTrue(Float.isFinite(y[i]) && Math.abs(y[i] - w[i]) <= 7 * Float.MIN_VALUE, f + " element " + i
                        + ": " + y[i]);
            }
        }
    }

    @Test
    void rejectsUnknownFormatsAndBadBlocks() {
        var e = assertThrows(IllegalArgumentException.class, () -> RoundToNearest.quantizeDequantize(new float[4], "int3", 4));
        assertTrue(e.getMessage().contains("nf4"));
        assertThrows(IllegalArgumentException.class, () -> RoundToNearest.quantizeDequantize(new float[4], "nf4", 0));
        assertThrows(IllegalArgumentException.class,
                () -> RoundToNearest.quantizeDequantize(new float[] {Float.NaN}, "nf4", 4));
    }
}
