package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Gradient checks (float64) of the elementwise primitives, broadcasting edge cases included. */
class ElementwiseGradTest {

    private static final long[][][] SHAPE_PAIRS = {
        {{3, 4}, {3, 4}},
        {{3, 1}, {1, 4}},
        {{2, 3, 4}, {4}},
        {{4}, {2, 3, 4}},
        {{1}, {2, 3}},
        {{2, 3}, {1}},
        {{2, 1, 4}, {3, 1}},
    };

    @Test
    void addSubMulDivBroadcast() {
        for (long[][] sp : SHAPE_PAIRS) {
            String shapes = java.util.Arrays.toString(sp[0]) + "," + java.util.Arrays.toString(sp[1]);
            Tensor a = param(1, sp[0]);
            Tensor b = param(2, sp[1]);
            Tensor bPos = param(3, 0.5, 2.0, sp[1]);
            GradientCheck.assertGradients("add" + shapes, () -> F.add(a, b), a, b);
            GradientCheck.assertGradients("sub" + shapes, () -> F.sub(a, b), a, b);
            GradientCheck.assertGradients("mul" + shapes, () -> F.mul(a, b), a, b);
            GradientCheck.assertGradients("div" + shapes, () -> F.div(a, bPos), a, bPos);
        }
    }

    @Test
    void broadcastForwardValues() {
        Tensor a = Tensor.constant(Nd4j.createFromArray(1.0, 2.0, 3.0).reshape(3, 1));
        Tensor b = Tensor.constant(Nd4j.createFromArray(10.0, 20.0).reshape(1, 2));
        assertArrayEquals(new double[] {11, 21, 12, 22, 13, 23}, TestArrays.flat(F.add(a, b).value()));
        assertArrayEquals(new double[] {-9, -19, -8, -18, -7, -17}, TestArrays.flat(F.sub(a, b).value()));
        assertArrayEquals(new double[] {10, 20, 20, 40, 30, 60}, TestArrays.flat(F.mul(a, b).value()));
        assertArrayEquals(new double[] {0.1, 0.05, 0.2, 0.1, 0.3, 0.15}, TestArrays.flat(F.div(a, b).value()), 1e-15);
        assertArrayEquals(new long[] {3, 2}, F.add(b, a).shape());
    }

    @Test
    void incompatibleShapesNameBoth() {
        Tensor a = param(1, 3, 4);
        Tensor b = param(2, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> F.add(a, b));
        assertEquals(true, e.getMessage().contains("[3, 4]") && e.getMessage().contains("[3]"), e.getMessage());
    }

    @Test
    void rankZeroOperands() {
        Tensor x = param(10, 2, 3);
        Tensor y = param(11, 4);
        GradientCheck.assertGradients("mul(x, sum(y))", () -> F.mul(x, F.sum(y, false)), x, y);
        GradientCheck.assertGradients("sub(mean(y), x)", () -> F.sub(F.mean(y, false), x), x, y);
        GradientCheck.assertGradients("div(sum(x), y)", () -> F.div(F.sum(x, false), F.addScalar(F.exp(y), 1)), x, y);
    }

    @Test
    void sameTensorTwice() {
        Tensor x = param(4, 3, 4);
        GradientCheck.assertGradients("mul(x,x)", () -> F.mul(x, x), x);
        GradientCheck.assertGradients("add(x,x)", () -> F.add(x, x), x);
        GradientCheck.assertGradients("sub(x,x)", () -> F.sub(x, F.mul(x, x)), x);
        Tensor p = param(5, 0.5, 2.0, 3, 4);
        GradientCheck.assertGradients("div(x,x*x)", () -> F.div(p, F.mul(p, p)), p);
    }

    @Test
    void unary() {
        Tensor x = param(6, 2, 3, 4);
        Tensor pos = param(7, 0.3, 3.0, 2, 3, 4);
        GradientCheck.assertGradients("scale", () -> F.scale(x, -2.5), x);
        GradientCheck.assertGradients("addScalar", () -> F.addScalar(x, 0.75), x);
        GradientCheck.assertGradients("exp", () -> F.exp(x), x);
        GradientCheck.assertGradients("log", () -> F.log(pos), pos);
        GradientCheck.assertGradients("rsqrt", () -> F.rsqrt(pos), pos);
        GradientCheck.assertGradients("sigmoid", () -> F.sigmoid(F.scale(x, 3)), x);
        GradientCheck.assertGradients("silu", () -> F.silu(F.scale(x, 3)), x);
        GradientCheck.assertGradients("siluComposite", () -> F.siluComposite(F.scale(x, 3)), x);
    }

    @Test
    void fusedSiluEqualsComposite() {
        Tensor x1 = Tensor.parameter(TestArrays.uniform(8, -6, 6, 4, 5, 7));
        Tensor x2 = Tensor.parameter(x1.value().dup());
        org.nd4j.linalg.api.ndarray.INDArray seed = TestArrays.uniform(9, -1, 1, 4, 5, 7);
        Tensor a = F.siluComposite(x1);
        Tensor b = F.siluFused(x2);
        assertEquals(0.0, a.value().sub(b.value()).amaxNumber().doubleValue(), 1e-12);
        a.backward(seed);
        b.backward(seed);
        assertEquals(0.0, x1.grad().sub(x2.grad()).amaxNumber().doubleValue(), 1e-12);
        // FLOAT (Vector API path) against the DOUBLE result
        Tensor xf = Tensor.parameter(x1.value().castTo(DataType.FLOAT));
        Tensor yf = F.silu(xf);
        yf.backward(seed.castTo(DataType.FLOAT));
        assertEquals(0.0, yf.value().castTo(DataType.DOUBLE).sub(b.value()).amaxNumber().doubleValue(), 1e-5);
        assertEquals(0.0, xf.grad().castTo(DataType.DOUBLE).sub(x2.grad()).amaxNumber().doubleValue(), 1e-5);
    }

    @Test
    void unaryForwardValues() {
        double[] v = {-2.0, -0.5, 0.0, 0.5, 3.0};
        Tensor x = Tensor.constant(Nd4j.createFromArray(v));
        double[] sig = TestArrays.flat(F.sigmoid(x).value());
        double[] silu = TestArrays.flat(F.silu(x).value());
        double[] exp = TestArrays.flat(F.exp(x).value());
        for (int i = 0; i < v.length; i++) {
            double s = 1 / (1 + Math.exp(-v[i]));
            assertEquals(s, sig[i], 1e-15);
            assertEquals(v[i] * s, silu[i], 1e-15);
            assertEquals(Math.exp(v[i]), exp[i], 1e-15 * Math.exp(v[i]));
        }
        Tensor p = Tensor.constant(Nd4j.createFromArray(0.25, 4.0));
        assertArrayEquals(new double[] {2.0, 0.5}, TestArrays.flat(F.rsqrt(p).value()), 1e-15);
        assertArrayEquals(new double[] {Math.log(0.25), Math.log(4)}, TestArrays.flat(F.log(p).value()), 1e-15);
    }

    @Test
    void floatStaysFloat() {
        Tensor a = Tensor.parameter(Nd4j.rand(DataType.FLOAT, 2, 3));
        Tensor b = Tensor.parameter(Nd4j.rand(DataType.FLOAT, 3));
        Tensor y = F.sum(F.silu(F.div(F.mul(F.add(a, b), b), F.addScalar(b, 1))), false);
        assertEquals(DataType.FLOAT, y.dataType());
        y.backward();
        assertEquals(DataType.FLOAT, a.grad().dataType());
        assertEquals(DataType.FLOAT, b.grad().dataType());
        assertArrayEquals(new long[] {3}, b.grad().shape());
    }
}
