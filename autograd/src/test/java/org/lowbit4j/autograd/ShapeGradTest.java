package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

/** Reductions, shape operations and softmax: forward values and float64 gradient checks. */
class ShapeGradTest {

    @Test
    void sumAndMean() {
        Tensor x = param(10, 2, 3, 4);
        for (boolean keep : new boolean[] {false, true}) {
            GradientCheck.assertGradients("sum all " + keep, () -> F.sum(x, keep), x);
            GradientCheck.assertGradients("sum 1 " + keep, () -> F.sum(x, keep, 1), x);
            GradientCheck.assertGradients("sum -1,0 " + keep, () -> F.sum(x, keep, -1, 0), x);
            GradientCheck.assertGradients("mean all " + keep, () -> F.mean(x, keep), x);
            GradientCheck.assertGradients("mean 2 " + keep, () -> F.mean(x, keep, 2), x);
            GradientCheck.assertGradients("mean 0,1 " + keep, () -> F.mean(x, keep, 0, 1), x);
        }
    }

    @Test
    void sumMeanShapesAndValues() {
        Tensor x = Tensor.constant(Nd4j.createFromArray(1.0, 2, 3, 4, 5, 6).reshape(2, 3));
        assertArrayEquals(new long[0], F.sum(x, false).shape());
        assertEquals(21.0, F.sum(x, false).value().getDouble(0));
        assertArrayEquals(new long[] {1, 1}, F.sum(x, true).shape());
        assertArrayEquals(new double[] {5, 7, 9}, TestArrays.flat(F.sum(x, false, 0).value()));
        assertArrayEquals(new long[] {2, 1}, F.mean(x, true, -1).shape());
        assertArrayEquals(new double[] {2, 5}, TestArrays.flat(F.mean(x, true, -1).value()));
        assertThrows(IllegalArgumentException.class, () -> F.sum(x, false, 2));
        assertThrows(IllegalArgumentException.class, () -> F.sum(x, false, 0, -2));
    }

    @Test
    void sumOverAxesAgainstLoop() {
        // every subset of axes of a [2, 3, 4, 5] array, against a plain loop
        double[] v = TestArrays.flat(TestArrays.uniform(15, -1, 1, 2, 3, 4, 5));
        Tensor x = Tensor.constant(Nd4j.createFromArray(v).reshape(2, 3, 4, 5));
        long[] shape = {2, 3, 4, 5};
        for (int mask = 1; mask < 16; mask++) {
            final int m = mask;
            int[] axes = java.util.stream.IntStream.range(0, 4).filter(d -> (m >> d & 1) == 1).toArray();
            long[] kept = shape.clone();
            for (int a : axes) {
                kept[a] = 1;
            }
            double[] want = new double[(int) (kept[0] * kept[1] * kept[2] * kept[3])];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    for (int k = 0; k < 4; k++) {
                        for (int l = 0; l < 5; l++) {
                            int o = (int) ((((m & 1) != 0 ? 0 : i) * kept[1] + ((m & 2) != 0 ? 0 : j)) * kept[2]
                                    + ((m & 4) != 0 ? 0 : k)) * (int) kept[3] + ((m & 8) != 0 ? 0 : l);
                            want[o] += v[((i * 3 + j) * 4 + k) * 5 + l];
                        }
                    }
                }
            }
            Tensor s = F.sum(x, true, axes);
            assertArrayEquals(kept, s.shape());
            assertArrayEquals(want, TestArrays.flat(s.value()), 1e-14, "axes mask " + mask);
            assertEquals(4 - axes.length, F.sum(x, false, axes).rank());
        }
    }

    @Test
    void reshapeTransposePermute() {
        Tensor x = param(11, 2, 3, 4);
        GradientCheck.assertGradients("reshape", () -> F.mul(F.reshape(x, 4, -1), F.reshape(x, 4, 6)), x);
        GradientCheck.assertGradients("transpose", () -> F.transpose(x, 0, -1), x);
        GradientCheck.assertGradients("permute", () -> F.permute(x, 2, 0, 1), x);
        Tensor y = Tensor.constant(Nd4j.createFromArray(1.0, 2, 3, 4, 5, 6).reshape(2, 3));
        assertArrayEquals(new double[] {1, 4, 2, 5, 3, 6}, TestArrays.flat(F.transpose(y, 0, 1).value()));
        assertArrayEquals(new long[] {3, 2}, F.reshape(y, -1, 2).shape());
        var e = assertThrows(IllegalArgumentException.class, () -> F.reshape(y, 4, 2));
        assertEquals(true, e.getMessage().contains("[2, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> F.permute(y, 0, 0));
    }

    @Test
    void sliceAndConcat() {
        Tensor x = param(12, 2, 5, 3);
        Tensor y = param(13, 2, 2, 3);
        GradientCheck.assertGradients("slice", () -> F.slice(x, 1, 1, 4), x);
        GradientCheck.assertGradients("slice last", () -> F.slice(x, -1, 2, 3), x);
        GradientCheck.assertGradients("concat", () -> F.concat(1, x, y, x), x, y);
        Tensor c = F.concat(1, x, y);
        assertArrayEquals(new long[] {2, 7, 3}, c.shape());
        assertEquals(y.value().getDouble(1, 1, 2), c.value().getDouble(1, 6, 2));
        assertEquals(x.value().getDouble(1, 3, 0), F.slice(x, 1, 2, 5).value().getDouble(1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> F.slice(x, 1, 3, 6));
        assertThrows(IllegalArgumentException.class, () -> F.concat(0, x, y));
    }

    @Test
    void softmaxAndLogSoftmax() {
        Tensor x = param(14, 2, 3, 5);
        for (int axis : new int[] {-1, 1, 0}) {
            GradientCheck.assertGradients("softmax " + axis, () -> F.softmax(F.scale(x, 3), axis), x);
            GradientCheck.assertGradients("logSoftmax " + axis, () -> F.logSoftmax(F.scale(x, 3), axis), x);
        }
        // values against a plain loop, with logits large enough to overflow exp without the max shift
        double[] v = {1000, 1001, 1002};
        Tensor big = Tensor.constant(Nd4j.createFromArray(v).reshape(1, 3));
        double[] p = TestArrays.flat(F.softmax(big, -1).value());
        double[] lp = TestArrays.flat(F.logSoftmax(big, -1).value());
        double z = Math.exp(-2) + Math.exp(-1) + 1;
        for (int i = 0; i < 3; i++) {
            assertEquals(Math.exp(v[i] - 1002) / z, p[i], 1e-15);
            assertEquals(v[i] - 1002 - Math.log(z), lp[i], 1e-12);
        }
    }
}
