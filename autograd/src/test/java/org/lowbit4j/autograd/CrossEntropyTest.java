package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Fused cross-entropy: values against a loop, ignored positions, gradients. */
class CrossEntropyTest {

    static double reference(INDArray logits2d, long[] targets, int ignore) {
        double total = 0;
        int kept = 0;
        for (int r = 0; r < targets.length; r++) {
            if (targets[r] == ignore) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < logits2d.size(1); j++) {
                max = Math.max(max, logits2d.getDouble(r, j));
            }
            double z = 0;
            for (int j = 0; j < logits2d.size(1); j++) {
                z += Math.exp(logits2d.getDouble(r, j) - max);
            }
            total += max + Math.log(z) - logits2d.getDouble(r, (int) targets[r]);
            kept++;
        }
        return kept == 0 ? 0 : total / kept;
    }

    @Test
    void valuesAgainstLoop() {
        INDArray logits = TestArrays.uniform(100, -3, 3, 2, 3, 5);
        long[] t = {0, 4, -100, 2, -100, 1};
        Tensor l = F.crossEntropy(Tensor.constant(logits), TestArrays.longs(t, 2, 3), -100);
        assertEquals(0, l.rank());
        assertEquals(reference(logits.reshape(6, 5), t, -100), l.value().getDouble(0), 1e-14);
        // hand value: uniform logits over V classes give log V
        INDArray flat = Nd4j.zeros(DataType.DOUBLE, 2, 8);
        assertEquals(Math.log(8), F.crossEntropy(Tensor.constant(flat), TestArrays.longs(new long[] {3, 7}, 2), -1)
                .value().getDouble(0), 1e-15);
        // large logits do not overflow
        INDArray big = Nd4j.createFromArray(1000.0, 0.0).reshape(1, 2);
        assertEquals(1000.0, F.crossEntropy(Tensor.constant(big), TestArrays.longs(new long[] {1}, 1), -1)
                .value().getDouble(0), 1e-12);
    }

    @Test
    void gradientsWithIgnoredPositions() {
        Tensor logits = param(101, 2, 3, 5);
        INDArray t = TestArrays.longs(new long[] {0, 4, -100, 2, -100, 1}, 2, 3);
        GradientCheck.assertGradients("crossEntropy [B,T,V]", () -> F.crossEntropy(F.scale(logits, 2), t, -100), logits);
        Tensor l2 = param(102, 4, 3);
        INDArray t2 = TestArrays.longs(new long[] {2, 0, 0, 1}, 4);
        GradientCheck.assertGradients("crossEntropy [N,V]", () -> F.crossEntropy(l2, t2, -100), l2);
        logits.zeroGrad();
        F.crossEntropy(logits, t, -100).backward();
        for (int j = 0; j < 5; j++) {
            assertEquals(0.0, logits.grad().getDouble(0, 2, j));
            assertEquals(0.0, logits.grad().getDouble(1, 1, j));
        }
        // each kept row of the gradient sums to zero: (softmax - onehot) / count
        assertEquals(0.0, logits.grad().sum(2).amaxNumber().doubleValue(), 1e-15);
    }

    @Test
    void allIgnored() {
        Tensor logits = param(103, 2, 4);
        INDArray t = TestArrays.longs(new long[] {-1, -1}, 2);
        Tensor l = F.crossEntropy(logits, t, -1);
        assertEquals(0.0, l.value().getDouble(0));
        l.backward();
        assertEquals(0.0, logits.grad().amaxNumber().doubleValue());
        GradientCheck.assertGradients("crossEntropy all ignored", () -> F.crossEntropy(logits, t, -1), logits);
    }

    @Test
    void rejectsBadTargets() {
        Tensor logits = param(104, 2, 4);
        var e = assertThrows(IllegalArgumentException.class,
                () -> F.crossEntropy(logits, TestArrays.longs(new long[] {1, 4}, 2), -100));
        assertTrue(e.getMessage().contains("4") && e.getMessage().contains("[0, 4)"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> F.crossEntropy(logits, TestArrays.longs(new long[] {1, 2, 3}, 3), -100));
        assertThrows(IllegalArgumentException.class, () -> F.crossEntropy(logits, TestArrays.uniform(1, 0, 1, 2), -100));
    }

    @Test
    void floatLogits() {
        Tensor logits = Tensor.parameter(Nd4j.rand(DataType.FLOAT, 3, 6));
        Tensor l = F.crossEntropy(logits, TestArrays.longs(new long[] {5, 0, 2}, 3), -100);
        assertEquals(DataType.FLOAT, l.dataType());
        l.backward();
        assertEquals(DataType.FLOAT, logits.grad().dataType());
        assertEquals(reference(logits.value().castTo(DataType.DOUBLE), new long[] {5, 0, 2}, -100),
                l.value().getDouble(0), 1e-6);
        // gradient of the FLOAT (Vector API) path against DOUBLE, V = 37 for the tail loop
        INDArray xd = TestArrays.uniform(105, -4, 4, 4, 37);
        INDArray t = TestArrays.longs(new long[] {36, -100, 0, 17}, 4);
        Tensor pd = Tensor.parameter(xd);
        Tensor pf = Tensor.parameter(xd.castTo(DataType.FLOAT));
        Tensor ld = F.crossEntropy(pd, t, -100);
        Tensor lf = F.crossEntropy(pf, t, -100);
        assertEquals(ld.value().getDouble(0), lf.value().getDouble(0), 1e-5);
        ld.backward();
        lf.backward();
        assertEquals(0.0, pf.grad().castTo(DataType.DOUBLE).sub(pd.grad()).amaxNumber().doubleValue(), 1e-6);
    }
}
