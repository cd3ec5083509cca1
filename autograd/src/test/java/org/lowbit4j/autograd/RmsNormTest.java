package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** RMSNorm: composite and fused agree, both pass gradient checks, and match a plain loop. */
class RmsNormTest {

    @Test
    void compositeAndFusedGradients() {
        Tensor x = param(60, 2, 3, 5);
        Tensor w = param(61, 5);
        GradientCheck.assertGradients("rmsNormComposite", () -> F.rmsNormComposite(x, w, 1e-5), x, w);
        GradientCheck.assertGradients("rmsNormFused", () -> F.rmsNormFused(x, w, 1e-5), x, w);
        GradientCheck.assertGradients("rmsNorm", () -> F.rmsNorm(x, w, 1e-2), x, w);
    }

    @Test
    void fusedEqualsCompositeInDouble() {
        INDArray seed = TestArrays.uniform(62, -1, 1, 4, 7, 16);
        for (double eps : new double[] {1e-5, 0.5}) {
            Tensor x1 = Tensor.parameter(TestArrays.uniform(63, -3, 3, 4, 7, 16));
            Tensor w1 = param(64, 16);
            Tensor x2 = Tensor.parameter(x1.value().dup());
            Tensor w2 = Tensor.parameter(w1.value().dup());
            Tensor a = F.rmsNormComposite(x1, w1, eps);
            Tensor b = F.rmsNormFused(x2, w2, eps);
            assertEquals(0.0, maxAbsDiff(a.value(), b.value()), 1e-12);
            a.backward(seed);
            b.backward(seed);
            assertEquals(0.0, maxAbsDiff(x1.grad(), x2.grad()), 1e-12);
            assertEquals(0.0, maxAbsDiff(w1.grad(), w2.grad()), 1e-12);
        }
    }

    @Test
    void valuesAgainstLoopInFloat() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 8).subi(0.5f);
        INDArray w = Nd4j.rand(DataType.FLOAT, 8);
        INDArray y = F.rmsNorm(Tensor.constant(x), Tensor.constant(w), 1e-5).value();
        assertEquals(DataType.FLOAT, y.dataType());
        for (int r = 0; r < 3; r++) {
            double ss = 0;
            for (int j = 0; j < 8; j++) {
                ss += x.getDouble(r, j) * x.getDouble(r, j);
            }
            double inv = 1 / Math.sqrt(ss / 8 + 1e-5);
            for (int j = 0; j < 8; j++) {
                assertEquals(x.getDouble(r, j) * inv * w.getDouble(j), y.getDouble(r, j), 1e-6);
            }
        }
    }

    @Test
    void floatPathMatchesDouble() {
        INDArray xd = TestArrays.uniform(65, -3, 3, 5, 37);
        INDArray wd = TestArrays.uniform(66, -1, 1, 37);
        INDArray seed = TestArrays.uniform(67, -1, 1, 5, 37);
        Tensor x1 = Tensor.parameter(xd);
        Tensor w1 = Tensor.parameter(wd);
        Tensor x2 = Tensor.parameter(xd.castTo(DataType.FLOAT));
        Tensor w2 = Tensor.parameter(wd.castTo(DataType.FLOAT));
        Tensor a = F.rmsNorm(x1, w1, 1e-5);
        Tensor b = F.rmsNorm(x2, w2, 1e-5);
        assertEquals(0.0, maxAbsDiff(a.value(), b.value().castTo(DataType.DOUBLE)), 1e-5);
        a.backward(seed);
        b.backward(seed.castTo(DataType.FLOAT));
        assertEquals(0.0, maxAbsDiff(x1.grad(), x2.grad().castTo(DataType.DOUBLE)), 1e-5);
        assertEquals(0.0, maxAbsDiff(w1.grad(), w2.grad().castTo(DataType.DOUBLE)), 1e-5);
    }

    @Test
    void rejectsWrongWeight() {
        assertThrows(IllegalArgumentException.class, () -> F.rmsNorm(param(1, 2, 5), param(2, 4), 1e-5));
    }

    static double maxAbsDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }
}
