package org.lowbit4j.mixedprec.fp8;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class Fp8KernelsTest {
    /** The codec's own rounding, one element at a time: the definition the kernels must reproduce. */
    private static float viaCodec(Fp8 f, float x, float scale, float scaleInv) {
        return f.decode(f.encode(x * scale, true)) * scaleInv;
    }

    /** Random magnitudes over the whole fp32 range plus every FP8 grid point, midpoint (ties) and special. */
    private static float[] probeValues(Fp8 f, int randomCount, long seed) {
        var rnd = new Random(seed);
        var vals = new java.util.ArrayList<Float>();
        for (int c = 0; c < 256; c++) {
            float v = f.decode(c);
            vals.add(v);
            float w = f.decode((c + 1) & 0xFF);
            if (Float.isFinite(v) && Float.isFinite(w)) {
                vals.add((v + w) / 2); // ties (exact in fp32)
                vals.add(Math.nextUp((v + w) / 2));
                vals.add(Math.nextDown((v + w) / 2));
            }
        }
        float[] specials = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE,
            -Float.MAX_VALUE, Float.MIN_VALUE, Float.MIN_NORMAL, 464f, 480f, -481f, 57344f, 61440f, 61439f, 1e30f};
        for (float s : specials) {
            vals.add(s);
        }
        for (int i = 0; i < randomCount; i++) {
            vals.add(Float.intBitsToFloat(rnd.nextInt()));
            vals.add((float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(40) - 25)));
        }
        float[] out = new float[vals.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = vals.get(i);
        }
        return out;
    }

    @Test
    void quantizeDequantizeMatchesTheCodecBitForBitVectorAndScalar() {
        float[][] scales = {{1f, 1f}, {448f / 3.7f, 3.7f / 448f}, {0x1p-20f, 0x1p20f}, {1e6f, 1e-6f}};
        for (Fp8 f : Fp8.values()) {
            float[] x = probeValues(f, 20000, 7);
            for (float[] s : scales) {
                INDArray src = Nd4j.createFromArray(x); // native memory, odd length
                INDArray vec = src.ulike();
                INDArray sca = src.ulike();
                Fp8Kernels.quantizeDequantize(f, Segments.of(src), Segments.of(vec), x.length, s[0], s[1]);
                Fp8Kernels.quantizeDequantizeScalar(f, Segments.of(src), Segments.of(sca), x.length, s[0], s[1]);
                float[] v = vec.toFloatVector();
                float[] w = sca.toFloatVector();
                for (int i = 0; i < x.length; i++) {
                    int want = Float.floatToIntBits(viaCodec(f, x[i], s[0], s[1]));
                    String msg = f + " x=" + x[i] + " scale=" + s[0];
                    assertEquals(want, Float.floatToIntBits(v[i]), "vector " + msg);
                    assertEquals(want, Float.floatToIntBits(w[i]), "scalar " + msg);
                    assertEquals(want, Float.floatToIntBits(Fp8Kernels.quantizeDequantize(f, x[i], s[0], s[1])),
                            "single " + msg);
                }
            }
        }
    }

    @Test
    void saturatesInsteadOfOverflowing() {
        assertEquals(448f, Fp8Kernels.quantizeDequantize(Fp8.E4M3FN, 1e9f, 1f, 1f));
        assertEquals(-448f, Fp8Kernels.quantizeDequantize(Fp8.E4M3FN, Float.NEGATIVE_INFINITY, 1f, 1f));
        assertEquals(57344f, Fp8Kernels.quantizeDequantize(Fp8.E5M2, 70000f, 1f, 1f));
        assertTrue(Float.isNaN(Fp8Kernels.quantizeDequantize(Fp8.E5M2, Float.NaN, 1f, 1f)));
        // scaled: 4 * 448 = 1792 saturates to 448, scaled back to 1
        assertEquals(1f, Fp8Kernels.quantizeDequantize(Fp8.E4M3FN, 4f, 448f, 1f / 448f));
    }

    @Test
    void inPlaceWorksOnHeapSegments() {
        float[] x = probeValues(Fp8.E5M2, 100, 3);
        float[] y = x.clone();
        MemorySegment seg = MemorySegment.ofArray(y);
        Fp8Kernels.quantizeDequantize(Fp8.E5M2, seg, seg, y.length, 3f, 1f / 3f);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(viaCodec(Fp8.E5M2, x[i], 3f, 1f / 3f)), Float.floatToIntBits(y[i]));
        }
    }

    @Test
    void amaxIgnoresNanCountsInfinityAndMatchesScalar() {
        var rnd = new Random(11);
        for (int n : new int[] {0, 1, 7, 8, 9, 63, 1001}) {
            float[] x = new float[n];
            float want = 0f;
            for (int i = 0; i < n; i++) {
                x[i] = (float) rnd.nextGaussian() * 3f;
                want = Math.max(want, Math.abs(x[i]));
            }
            MemorySegment seg = MemorySegment.ofArray(x);
            assertEquals(want, Fp8Kernels.amax(seg, n), "n=" + n);
            assertEquals(want, Fp8Kernels.amaxScalar(seg, n), "n=" + n);
            if (n > 8) {
                x[n / 2] = Float.NaN;
                x[n - 1] = Float.NaN; // in the tail
                float rest = 0f;
                for (float v : x) {
                    if (!Float.isNaN(v)) {
                        rest = Math.max(rest, Math.abs(v));
                    }
                }
                assertEquals(rest, Fp8Kernels.amax(seg, n), "NaN ignored, n=" + n);
                assertEquals(rest, Fp8Kernels.amaxScalar(seg, n), "NaN ignored, n=" + n);
                x[3] = Float.NEGATIVE_INFINITY;
                assertEquals(Float.POSITIVE_INFINITY, Fp8Kernels.amax(seg, n));
                assertEquals(Float.POSITIVE_INFINITY, Fp8Kernels.amaxScalar(seg, n));
            }
        }
    }
}
