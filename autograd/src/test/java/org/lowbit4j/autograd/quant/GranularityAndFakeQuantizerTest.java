package org.lowbit4j.autograd.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.autograd.formats.FourBitCodebook;
import org.lowbit4j.autograd.formats.IntCodec;
import org.lowbit4j.autograd.formats.Packed4Codec;

class GranularityAndFakeQuantizerTest {
    private static int[] groupOf(Granularity g, long... shape) {
        var l = g.layout(shape);
        int[] out = new int[l.members().length];
        for (int grp = 0; grp < l.groups(); grp++) {
            for (int k = l.offsets()[grp]; k < l.offsets()[grp + 1]; k++) {
                out[l.members()[k]] = grp;
            }
        }
        return out;
    }

    @Test
    void layoutsGroupTheRightElements() {
        assertArrayEquals(new int[12], groupOf(new Granularity.PerTensor(), 3, 4));
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, groupOf(new Granularity.PerChannel(0), 3, 4));
        assertArrayEquals(new int[] {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}, groupOf(new Granularity.PerChannel(-1), 3, 4));
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, groupOf(new Granularity.PerToken(), 3, 4));
        assertArrayEquals(new int[] {0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 5}, groupOf(new Granularity.Groupwise(3), 3, 4));
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2}, groupOf(new Granularity.Blockwise(5), 3, 4));
        assertArrayEquals(new int[] {0, 0, 1, 1, 0, 0, 1, 1}, groupOf(new Granularity.PerChannel(1), 2, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> new Granularity.PerChannel(2).layout(new long[] {3, 4}));
    }

    @Test
    void int8PerChannelMinMaxGolden() {
        var fq = FakeQuantizer.intPerChannel(8);
        double[] x = {1.27, -0.5, 0.3, 0.0, -2.54, 1.0};
        var p = fq.calibrate(x, new long[] {2, 3});
        assertEquals(1.27f / 127, p.group(0).scale());
        assertEquals(2.54f / 127, p.group(1).scale());
        double[] y = fq.apply(x, new long[] {2, 3}, p);
        float s0 = 1.27f / 127;
        assertEquals(127 * (double) s0, y[0], 0);
        assertEquals(Math.rint(-0.5 / s0) * s0, y[1], 0);
        assertEquals(0.0, y[3], 0);
        assertEquals(-127 * (double) (2.54f / 127), y[4], 0);
    }

    @Test
    void asymmetricIntKeepsZeroExactAndUsesTheFullCodeRange() {
        var fq = new FakeQuantizer(new ElementFormat.Int(IntCodec.asymmetric(4)), new Granularity.PerTensor(),
                new ScaleMethod.MinMax());
        double[] x = {-1, 0, 0.5, 2};
        var p = fq.calibrate(x, new long[] {4});
        assertEquals(5, p.group(0).zeroPoint());
        double[] y = fq.apply(x, new long[] {4}, p);
        assertEquals(0.0, y[1], 0);
        assertEquals(-5 * (double) (3f / 15), y[0], 1e-12);
        assertEquals(10 * (double) (3f / 15), y[3], 1e-12);
    }

    @Test
    void mseSearchNeverLosesToMinMaxAndWinsWithOutliers() {
        Random r = new Random(4);
        double[] x = new double[2000];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextGaussian();
        }
        x[17] = 40; // an outlier that min-max must cover
        long[] shape = {x.length};
        var fmt = new ElementFormat.Int(IntCodec.symmetric(4));
        double errMinMax = sse(x, new FakeQuantizer(fmt, new Granularity.PerTensor(), new ScaleMethod.MinMax()).apply(x, shape));
        double errMse = sse(x, new FakeQuantizer(fmt, new Granularity.PerTensor(), new ScaleMethod.Mse()).apply(x, shape));
        assertTrue(errMse < 0.75 * errMinMax, "MSE search " + errMse + " vs min-max " + errMinMax);
    }

    private static double sse(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (a[i] - b[i]) * (a[i] - b[i]);
        }
        return s;
    }

    @Test
    void percentileClipsAtTheInterpolatedOrderStatistic() {
        double[] x = new double[101];
        for (int i = 0; i <= 100; i++) {
            x[i] = i - 50; // |x| sorted: 0,1,1,2,2,...,50,50
        }
        var fq = new FakeQuantizer(new ElementFormat.Int(IntCodec.symmetric(8)), new Granularity.PerTensor(),
                new ScaleMethod.Percentile(90));
        var p = fq.calibrate(x, new long[] {101});
        // |x| sorted has 101 values; position 0.9 * 100 = 90 holds 45.
        assertEquals(45f / 127, p.group(0).scale());
        var asym = new FakeQuantizer(new ElementFormat.Int(IntCodec.asymmetric(8)), new Granularity.PerTensor(),
                new ScaleMethod.Percentile(90));
        var q = asym.calibrate(x, new long[] {101});
        assertEquals(80f / 255, q.group(0).scale());
    }

    @Test
    void nf4BlockwiseFakeQuantMatchesThePackedCodec() {
        Random r = new Random(8);
        int n = 64 * 10 + 32;
        float[] xf = new float[n];
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            xf[i] = (float) r.nextGaussian();
            x[i] = xf[i];
        }
        double[] y = FakeQuantizer.nf4(64).apply(x, new long[] {n});
        byte[] packed = new byte[n / 2];
        float[] absmax = new float[11];
        Packed4Codec.quantize(xf, 0, n, FourBitCodebook.NF4, 64, packed, absmax);
        float[] d = new float[n];
        Packed4Codec.dequantize(packed, 0, n, FourBitCodebook.NF4, 64, absmax, 0, d, 0);
        for (int i = 0; i < n; i++) {
            assertEquals(d[i], (float) y[i], "element " + i);
        }
    }

    @Test
    void fp8TernaryBinaryAndHalfFormats() {
        double[] x = {448, -1, 0.001, 3};
        var e4 = new FakeQuantizer(new ElementFormat.Float8(Fp8.E4M3FN, true), new Granularity.PerTensor(),
                new ScaleMethod.MinMax());
        double[] y = e4.apply(x, new long[] {4});
        assertEquals(448, y[0], 0);
        assertEquals(-1, y[1], 0);
        assertEquals(3, y[3], 0);
        var tern = new FakeQuantizer(new ElementFormat.Ternary(), new Granularity.PerTensor(), new ScaleMethod.MinMax());
        double[] t = tern.apply(new double[] {2, -2, 0.1, 0}, new long[] {4});
        float s = 4.1f / 4;
        assertArrayEquals(new double[] {s, -s, 0, 0}, t, 1e-7);
        var bin = new FakeQuantizer(new ElementFormat.Binary(), new Granularity.PerChannel(0), new ScaleMethod.MinMax());
        double[] b = bin.apply(new double[] {1, -3, 0, 2}, new long[] {2, 2});
        assertArrayEquals(new double[] {2, -2, 1, 1}, b, 1e-7);
        var bf = new FakeQuantizer(new ElementFormat.Half(true), new Granularity.PerTensor(), new ScaleMethod.MinMax());
        assertEquals(1.0078125, bf.apply(new double[] {1.0 + 1.0 / 128 + 1e-6}, new long[] {1})[0], 0);
    }

    @Test
    void calibratorOverBatchesEqualsCalibratingTheirUnion() {
        Random r = new Random(2);
        long[] shape = {4, 8};
        double[][] batches = new double[3][32];
        double[] union = new double[96];
        for (int b = 0; b < 3; b++) {
            for (int i = 0; i < 32; i++) {
                batches[b][i] = r.nextGaussian() * (1 + b);
            }
        }
        var fq = FakeQuantizer.intPerChannel(4);
        var cal = new Calibrator(fq, shape, 1000);
        for (double[] b : batches) {
            cal.observe(b);
        }
        var p = cal.finish();
        // Min-max over batches = min-max over the rows stacked: rebuild [4, 24] with each row's values.
        for (int row = 0; row < 4; row++) {
            for (int b = 0; b < 3; b++) {
                System.arraycopy(batches[b], row * 8, union, row * 24 + b * 8, 8);
            }
        }
        assertArrayEquals(fq.calibrate(union, new long[] {4, 24}).scales(), p.scales());
        var pct = new FakeQuantizer(new ElementFormat.Int(IntCodec.symmetric(8)), new Granularity.PerChannel(0),
                new ScaleMethod.Percentile(99));
        var cal2 = new Calibrator(pct, shape, 1000);
        for (double[] b : batches) {
            cal2.observe(b);
        }
        assertArrayEquals(pct.calibrate(union, new long[] {4, 24}).scales(), cal2.finish().scales());
        assertThrows(IllegalArgumentException.class, () -> new Calibrator(
                new FakeQuantizer(new ElementFormat.Int(IntCodec.symmetric(8)), new Granularity.PerToken(),
                        new ScaleMethod.MinMax()), shape, 10));
    }
}
