package org.lowbit4j.autograd.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.FourBitCodebook;
import org.lowbit4j.autograd.formats.IntCodec;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class StraightThroughTest {
    private static INDArray randn(DataType t, long seed, long... shape) {
        Random r = new Random(seed);
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return Nd4j.create(v, shape, 'c').castTo(t);
    }

    @Test
    void identityBackwardPassesTheGradientUnchanged() {
        var fq = new FakeQuantizer(new ElementFormat.FourBit(FourBitCodebook.NF4), new Granularity.Blockwise(32),
                new ScaleMethod.MinMax());
        var xv = randn(DataType.FLOAT, 1, 4, 16);
        var x = Tensor.parameter(xv);
        var y = new StraightThroughQuantize(fq, null, StraightThroughQuantize.Backward.IDENTITY).apply(x);
        assertEquals(DataType.FLOAT, y.dataType());
        assertArrayEquals(fq.apply(xv, null).data().asFloat(), y.value().data().asFloat());
        var seed = randn(DataType.FLOAT, 2, 4, 16);
        y.backward(seed);
        assertArrayEquals(seed.data().asFloat(), x.grad().data().asFloat());
    }

    @Test
    void clippedBackwardMasksExactlyOutsideTheStaticRange() {
        var fq = new FakeQuantizer(new ElementFormat.Int(IntCodec.symmetric(4)), new Granularity.PerChannel(0),
                new ScaleMethod.MinMax());
        // Calibrate on a narrower tensor, then feed values beyond its range.
        double[] cal = {0.7, -0.35, 0.1, 1.4, 0.2, -0.7};
        var params = fq.calibrate(cal, new long[] {2, 3});
        double[] xv = {0.5, 0.71, -0.69, -0.71, 1.39, 1.41};
        var x = Tensor.parameter(Nd4j.create(xv, new long[] {2, 3}, 'c'));
        var y = new StraightThroughQuantize(fq, params, StraightThroughQuantize.Backward.CLIPPED).apply(x);
        y.backward(Nd4j.create(new double[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, 'c'));
        // Row 0 range [-0.7, 0.7] (scale 0.1), row 1 [-1.4, 1.4] (scale 0.2).
        assertArrayEquals(new double[] {1, 0, 3, 4, 5, 0}, x.grad().data().asDouble());
        assertEquals(7 * (double) (0.7f / 7), y.value().getDouble(0, 1), 0);
        assertEquals(7 * (double) (1.4f / 7), y.value().getDouble(1, 2), 0);
    }

    @Test
    void dynamicPerTokenScalesFollowEachRow() {
        var fq = new FakeQuantizer(new ElementFormat.Int(IntCodec.symmetric(8)), new Granularity.PerToken(),
                new ScaleMethod.MinMax());
        var xv = Nd4j.create(new double[] {1, -127, 50, 0.5, 0.25, -0.125}, new long[] {2, 3}, 'c');
        var node = new StraightThroughQuantize(fq, null, StraightThroughQuantize.Backward.IDENTITY);
        var y = node.apply(Tensor.constant(xv));
        assertArrayEquals(new float[] {1f, 0.5f / 127}, node.params().scales());
        double s1 = 0.5f / 127;
        assertArrayEquals(new double[] {1, -127, 50, 127 * s1, Math.rint(0.25 / s1) * s1, Math.rint(-0.125 / s1) * s1},
                y.value().data().asDouble(), 0);
    }

    @Test
    void lsqForwardAndBackwardFollowTheFormulas() {
        var codec = IntCodec.symmetric(4);
        double s = 0.1;
        double[] xv = {0.04, 0.05, 0.16, -0.33, 0.9, -0.75, 0.7, 0.0};
        var x = Tensor.parameter(Nd4j.create(xv, new long[] {2, 4}, 'c'));
        var sc = Tensor.parameter(Nd4j.create(new double[] {s}, new long[] {1}, 'c'));
        var y = new LsqQuantize(codec, 1.0).apply(x, sc);
        double[] g = {1, 2, 3, 4, 5, 6, 7, 8};
        y.backward(Nd4j.create(g, new long[] {2, 4}, 'c'));
        double[] wantY = new double[8];
        double[] wantDx = new double[8];
        double wantDs = 0;
        for (int i = 0; i < 8; i++) {
            double v = xv[i] / s;
            double q = Math.max(-7, Math.min(7, Math.rint(v)));
            wantY[i] = q * s;
            boolean in = v >= -7 && v <= 7;
            wantDx[i] = in ? g[i] : 0;
            wantDs += g[i] * (v < -7 ? -7 : v > 7 ? 7 : Math.rint(v) - v);
        }
        assertArrayEquals(wantY, y.value().data().asDouble(), 1e-15);
        assertArrayEquals(wantDx, x.grad().data().asDouble(), 0);
        assertEquals(wantDs, sc.grad().getDouble(0), 1e-12);
    }

    /** Where every element saturates, y = ±Qp * s is differentiable in s: check LSQ against finite differences. */
    @Test
    void lsqScaleGradientMatchesFiniteDifferencesInTheSaturatedRegion() {
        var codec = IntCodec.symmetric(3);
        double[] xv = {5, -6, 7.5, -9, 4, 8};
        double[] w = {0.3, -1.2, 0.7, 2.0, -0.4, 1.1};
        var scale = Nd4j.create(new double[] {0.5, 0.25}, new long[] {2, 1}, 'c');
        var x = Tensor.constant(Nd4j.create(xv, new long[] {2, 3}, 'c'));
        var sc = Tensor.parameter(scale.dup());
        new LsqQuantize(codec, 1.0).apply(x, sc).backward(Nd4j.create(w, new long[] {2, 3}, 'c'));
        double h = 1e-6;
        for (int k = 0; k < 2; k++) {
            double[] plus = {0.5, 0.25};
            double[] minus = {0.5, 0.25};
            plus[k] += h;
            minus[k] -= h;
            double fd = (loss(codec, xv, w, plus) - loss(codec, xv, w, minus)) / (2 * h);
            assertEquals(fd, sc.grad().getDouble(k, 0), 1e-8, "scale " + k);
        }
    }

    private static double loss(IntCodec codec, double[] xv, double[] w, double[] s) {
        var y = new LsqQuantize(codec, 1.0).apply(Tensor.constant(Nd4j.create(xv, new long[] {2, 3}, 'c')),
                Tensor.constant(Nd4j.create(s, new long[] {2, 1}, 'c')));
        double[] yv = y.value().data().asDouble();
        double l = 0;
        for (int i = 0; i < yv.length; i++) {
            l += w[i] * yv[i];
        }
        return l;
    }

    @Test
    void lsqDefaultGradScaleAndBadInputs() {
        var codec = IntCodec.symmetric(8);
        double[] xv = {0.01, 0.02, 0.03, 0.04};
        var sc = Tensor.parameter(Nd4j.create(new double[] {0.001}, new long[] {1}, 'c'));
        new LsqQuantize(codec, Double.NaN).apply(Tensor.constant(Nd4j.create(xv, new long[] {4}, 'c')), sc)
                .backward(Nd4j.ones(DataType.DOUBLE, 4));
        double raw = 0;
        for (double v : xv) {
            double r = v / 0.001;
            raw += Math.rint(r) - r;
        }
        assertEquals(raw / Math.sqrt(4 * 127), sc.grad().getDouble(0), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new LsqQuantize(IntCodec.asymmetric(8), 1));
        assertThrows(IllegalArgumentException.class, () -> new LsqQuantize(codec, 1).apply(
                Tensor.constant(Nd4j.create(xv, new long[] {2, 2}, 'c')),
                Tensor.constant(Nd4j.create(new double[] {1, 1, 1}, new long[] {1, 3}, 'c'))));
        assertThrows(IllegalArgumentException.class, () -> new LsqQuantize(codec, 1).apply(
                Tensor.constant(Nd4j.create(xv, new long[] {4}, 'c')),
                Tensor.constant(Nd4j.create(new double[] {-1}, new long[] {1}, 'c'))));
    }
}
