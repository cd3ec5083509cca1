package org.lowbit4j.autograd.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.formats.DynamicMaps;
import org.lowbit4j.autograd.formats.FourBitCodebook;
import org.lowbit4j.autograd.formats.Packed4Codec;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class QuantizedTensorTest {
    private static float[] randn(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * 0.02 * (1 + (i / 64) % 5));
        }
        return x;
    }

    @Test
    void doubleQuantSizeIsExactlyFourPointOneTwoSevenBitsPerWeight() {
        int rows = 256;
        int cols = 512;
        int n = rows * cols;
        var q = QuantizedTensor.quantize(randn(n, 1), new long[] {rows, cols}, FourBitCodebook.NF4, 64, true);
        int k = n / (64 * 256);
        assertEquals(n / 2 + n / 64 + 4L * k + 4, q.sizeInBytes());
        assertEquals(q.sizeInBytes(), q.toBytes().length);
        // 4 + 8/64 + 32/(64*256) bits per weight, plus the one fp32 mean.
        assertEquals(4 + 8.0 / 64 + 32.0 / (64 * 256) + 32.0 / n, q.bitsPerWeight(), 1e-12);
        assertEquals(4.127, q.bitsPerWeight(), 5e-4);
        var plain = QuantizedTensor.quantize(randn(n, 1), new long[] {rows, cols}, FourBitCodebook.NF4, 64, false);
        assertEquals(n / 2 + 4L * (n / 64), plain.sizeInBytes());
    }

    @Test
    void doubleQuantizedAbsmaxStaysWithinTheMapResolution() {
        int n = 64 * 256 * 3 + 64 * 17;
        float[] x = randn(n, 2);
        var dq = QuantizedTensor.quantize(x, new long[] {n}, FourBitCodebook.NF4, 64, true);
        var plain = QuantizedTensor.quantize(x, new long[] {n}, FourBitCodebook.NF4, 64, false);
        int nb = plain.blockCount();
        float[] exact = new float[nb];
        float[] approx = new float[nb];
        plain.blockAbsmax(0, nb, exact, 0);
        dq.blockAbsmax(0, nb, approx, 0);
        float[] map = DynamicMaps.signed8();
        double maxHalfGap = 0;
        for (int i = 0; i + 1 < map.length; i++) {
            maxHalfGap = Math.max(maxHalfGap, (map[i + 1] - map[i]) / 2.0);
        }
        double mean = 0;
        for (float a : exact) {
            mean += a;
        }
        mean /= nb;
        for (int g = 0; g * 256 < nb; g++) {
            double scale2 = 0;
            for (int b = g * 256; b < Math.min(nb, (g + 1) * 256); b++) {
                scale2 = Math.max(scale2, Math.abs(exact[b] - mean));
            }
            for (int b = g * 256; b < Math.min(nb, (g + 1) * 256); b++) {
                double err = Math.abs(approx[b] - exact[b]);
                assertTrue(err <= scale2 * maxHalfGap * (1 + 1e-5) + 1e-7, "block " + b + " error " + err
                        + " > " + scale2 * maxHalfGap);
            }
        }
        // The whole tensor decodes with the approximate maxima.
        float[] a = dq.dequantizeToArray();
        float[] b = plain.dequantizeToArray();
        for (int i = 0; i < n; i++) {
            float ratio = approx[i / 64] / exact[i / 64];
            assertEquals(b[i] * ratio, a[i], 1e-6f + Math.abs(b[i]) * 1e-5f);
        }
    }

    @Test
    void dequantizeRowsMatchesTheFullMatrixForEveryTile() {
        int rows = 13;
        int cols = 40; // 40 is not a multiple of the block: tiles start mid-block and mid-byte
        float[] x = randn(rows * cols, 3);
        var w = Nd4j.create(x, new long[] {rows, cols}, 'c');
        for (boolean dqOn : new boolean[] {false, true}) {
            var q = QuantizedTensor.quantize(w, FourBitCodebook.NF4, 32, dqOn);
            float[] full = q.dequantizeToArray();
            var fullNd = q.dequantize();
            assertArrayEquals(new long[] {rows, cols}, fullNd.shape());
            assertArrayEquals(full, fullNd.data().asFloat());
            for (int r0 = 0; r0 < rows; r0 += 3) {
                int rc = Math.min(3, rows - r0);
                float[] tile = new float[rc * cols + 1];
                q.dequantizeRows(r0, rc, tile, 1);
                float[] expect = java.util.Arrays.copyOfRange(full, r0 * cols, (r0 + rc) * cols);
                assertArrayEquals(expect, java.util.Arrays.copyOfRange(tile, 1, tile.length));
                var nd = Nd4j.create(DataType.FLOAT, rc, cols);
                q.dequantizeRows(r0, rc, nd);
                assertArrayEquals(expect, nd.data().asFloat());
            }
        }
    }

    @Test
    void nf4DefaultIsBlock64WithDoubleQuantAndErrorsAreSmall() {
        float[] x = randn(64 * 64, 4);
        var q = QuantizedTensor.nf4(Nd4j.create(x, new long[] {64, 64}, 'c'));
        assertEquals(64, q.blockSize());
        assertTrue(q.doubleQuantized());
        assertEquals(FourBitCodebook.NF4, q.format());
        float[] d = q.dequantizeToArray();
        float[] am = new float[q.blockCount()];
        q.blockAbsmax(0, am.length, am, 0);
        var plain = QuantizedTensor.quantize(x, new long[] {x.length}, FourBitCodebook.NF4, 64, false);
        float[] exact = new float[am.length];
        plain.blockAbsmax(0, exact.length, exact, 0);
        for (int i = 0; i < x.length; i++) {
            // Half the widest NF4 gap (-1.0..-0.6962) times the true absmax, plus the DQ error of that absmax.
            double bound = 0.1520 * exact[i / 64] + Math.abs(am[i / 64] - exact[i / 64]) + 1e-6;
            assertTrue(Math.abs(d[i] - x[i]) <= bound, "element " + i + ": " + d[i] + " vs " + x[i]);
        }
    }

    @Test
    void bytesRoundTripExactly() {
        float[] x = randn(64 * 300 + 17, 5);
        for (boolean dq : new boolean[] {false, true}) {
            var q = QuantizedTensor.quantize(x, new long[] {x.length}, FourBitCodebook.FP4, 64, dq);
            byte[] bytes = q.toBytes();
            var back = QuantizedTensor.fromBytes(bytes, FourBitCodebook.FP4, new long[] {x.length}, 64, dq);
            assertArrayEquals(bytes, back.toBytes());
            assertArrayEquals(q.dequantizeToArray(), back.dequantizeToArray());
            var e = assertThrows(IllegalArgumentException.class, () -> QuantizedTensor.fromBytes(
                    java.util.Arrays.copyOf(bytes, bytes.length - 1), FourBitCodebook.FP4, new long[] {x.length}, 64, dq));
            assertTrue(e.getMessage().contains("needs " + bytes.length + " bytes"), e.getMessage());
        }
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> QuantizedTensor.quantize(new float[10], new long[] {3, 3},
                FourBitCodebook.NF4, 64, false));
        var q = QuantizedTensor.quantize(new float[12], new long[] {3, 4}, FourBitCodebook.NF4, 64, false);
        assertThrows(IllegalArgumentException.class, () -> q.dequantizeRows(2, 2, new float[8], 0));
        assertThrows(IllegalArgumentException.class, () -> q.dequantizeRows(0, 1, Nd4j.create(DataType.DOUBLE, 1, 4)));
        assertEquals(Packed4Codec.DEFAULT_BLOCK, 64);
    }
}
