package org.lowbit4j.autograd.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.formats.IntCodec;
import org.nd4j.linalg.factory.Nd4j;

class IntQuantizedTensorTest {
    @Test
    void threeBitCodesPackLittleEndianAcrossBytes() {
        // One group of 4 with codes -3..3: values chosen to land on exact levels (scale 1).
        float[] w = {3f, -3f, 1f, -1f};
        var t = IntQuantizedTensor.quantize(w, new long[] {1, 4}, IntCodec.symmetric(3), 4, new ScaleMethod.MinMax());
        assertArrayEquals(new float[] {1f}, t.scales());
        assertNull(t.zeroPoints());
        // codes 3, -3 (101), 1, -1 (111): bit stream 011 101 001 111 -> bytes 0b01_101_011, 0b0000_1110 ... LSB first
        byte[] b = t.toBytes();
        assertEquals((byte) 0b01101011, b[0]);
        assertEquals((byte) 0b00001110, b[1]);
        assertEquals(2 + 4, t.sizeInBytes());
        assertArrayEquals(w, t.dequantize().data().asFloat());
    }

    @Test
    void asymmetricGroupsStoreZeroPointsAndMatchFakeQuantization() {
        Random r = new Random(12);
        int rows = 6;
        int cols = 50; // groups of 16: 16, 16, 16, 2 per row
        float[] w = new float[rows * cols];
        double[] wd = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() + 0.5);
            wd[i] = w[i];
        }
        var codec = IntCodec.asymmetric(4);
        var t = IntQuantizedTensor.quantize(Nd4j.create(w, new long[] {rows, cols}, 'c'), codec, 16,
                new ScaleMethod.MinMax());
        assertEquals(rows * 4, t.scales().length);
        assertEquals(rows * 4, t.zeroPoints().length);
        assertEquals(w.length / 2 + rows * 4 * 5, t.sizeInBytes());
        var fq = new FakeQuantizer(new ElementFormat.Int(codec), new Granularity.Groupwise(16), new ScaleMethod.MinMax());
        double[] y = fq.apply(wd, new long[] {rows, cols});
        float[] d = t.dequantize().data().asFloat();
        for (int i = 0; i < w.length; i++) {
            assertEquals((float) y[i], d[i], Math.ulp(d[i]), "element " + i);
        }
        float[] tile = new float[2 * cols];
        t.dequantizeRows(3, 2, tile, 0);
        assertArrayEquals(java.util.Arrays.copyOfRange(d, 3 * cols, 5 * cols), tile);
    }

    @Test
    void int8PerChannelIsOneScalePerRow() {
        float[] w = {1.27f, -0.5f, 0.25f, 2.54f};
        var t = IntQuantizedTensor.quantize(w, new long[] {2, 2}, IntCodec.symmetric(8), 1 << 20, new ScaleMethod.MinMax());
        assertEquals(2, t.groupSize());
        assertArrayEquals(new float[] {1.27f / 127, 2.54f / 127}, t.scales());
        assertEquals(4 + 8, t.sizeInBytes());
    }
}
