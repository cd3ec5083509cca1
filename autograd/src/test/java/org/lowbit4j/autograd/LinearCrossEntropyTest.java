package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The fused classifier + cross-entropy against the unfused composition, bit for bit; gradients. */
class LinearCrossEntropyTest {
    private static final long[] TARGETS = {0, 6, -100, 2, -100, 1, 3, 5};

    /** Loss bits and gradient bits of fused and unfused on fresh FLOAT copies of the same values. */
    private static void assertSameAsUnfused(boolean weightTrains, long[] targets, int ignore) {
        INDArray x0 = TestArrays.uniform(7, -2, 2, 2, 4, 5).castTo(DataType.FLOAT);
        INDArray w0 = TestArrays.uniform(8, -1, 1, 7, 5).castTo(DataType.FLOAT);
        INDArray t = TestArrays.longs(targets, 2, 4);
        Tensor[] fused = {Tensor.parameter(x0.dup()), weightTrains ? Tensor.parameter(w0.dup()) : Tensor.constant(w0.dup())};
        Tensor[] plain = {Tensor.parameter(x0.dup()), weightTrains ? Tensor.parameter(w0.dup()) : Tensor.constant(w0.dup())};
        Tensor lf = F.linearCrossEntropy(F.scale(fused[0], 1.5), fused[1], t, ignore);
        Tensor lp = F.crossEntropy(F.linear(F.scale(plain[0], 1.5), plain[1]), t, ignore);
        assertEquals(0, lf.rank());
        assertEquals(DataType.FLOAT, lf.dataType());
        assertEquals(Float.floatToIntBits(lp.value().getFloat(0)), Float.floatToIntBits(lf.value().getFloat(0)));
        lf.backward();
        lp.backward();
        assertArrayEquals(TestArrays.flat(plain[0].grad()), TestArrays.flat(fused[0].grad()), 0.0);
        if (weightTrains) {
            assertArrayEquals(TestArrays.flat(plain[1].grad()), TestArrays.flat(fused[1].grad()), 0.0);
        } else {
            assertNull(fused[1].grad());
        }
    }

    @Test
    void bitIdenticalToLinearThenCrossEntropy() {
        assertSameAsUnfused(true, TARGETS, -100);
        assertSameAsUnfused(true, TARGETS, -100); // again: the pooled logits buffer now holds old values
    }

    @Test
    void frozenWeightGetsNoGradient() {
        assertSameAsUnfused(false, TARGETS, -100);
    }

    @Test
    void allIgnoredGivesZeroLossAndZeroGradients() {
        long[] none = {-1, -1, -1, -1, -1, -1, -1, -1};
        assertSameAsUnfused(true, none, -1);
    }

    @Test
    void gradientsInFloat64() {
        Tensor x = TestArrays.param(11, 2, 4, 5);
        Tensor w = TestArrays.param(12, 7, 5);
        INDArray t = TestArrays.longs(TARGETS, 2, 4);
        GradientCheck.assertGradients("linearCrossEntropy [B,T,C]", () -> F.linearCrossEntropy(x, w, t, -100), x, w);
        Tensor x2 = TestArrays.param(13, 3, 5);
        INDArray t2 = TestArrays.longs(new long[] {6, 0, 6}, 3);
        GradientCheck.assertGradients("linearCrossEntropy [N,C]", () -> F.linearCrossEntropy(x2, w, t2, -100), x2, w);
    }

    @Test
    void withoutGradientsOnlyTheLoss() {
        Tensor x = TestArrays.param(14, 2, 4, 5);
        Tensor w = TestArrays.param(15, 7, 5);
        INDArray t = TestArrays.longs(TARGETS, 2, 4);
        double expected = F.crossEntropy(F.linear(x, w), t, -100).value().getDouble(0);
        try (var scope = GradMode.noGrad()) {
            for (int i = 0; i < 2; i++) {
                Tensor l = F.linearCrossEntropy(x, w, t, -100);
                assertEquals(expected, l.value().getDouble(0), 1e-15);
                assertEquals(false, l.requiresGrad());
            }
        }
    }

    @Test
    void badShapesAndTargetsAreRejected() {
        Tensor x = TestArrays.param(16, 2, 4, 5);
        Tensor w = TestArrays.param(17, 7, 5);
        INDArray t = TestArrays.longs(TARGETS, 2, 4);
        assertThrows(IllegalArgumentException.class,
                () -> F.linearCrossEntropy(x, TestArrays.param(18, 7, 4), t, -100)); // C mismatch
        assertThrows(IllegalArgumentException.class,
                () -> F.linearCrossEntropy(x, TestArrays.param(19, 7, 5, 1), t, -100)); // weight not 2-D
        assertThrows(IllegalArgumentException.class,
                () -> F.linearCrossEntropy(x, w, TestArrays.longs(new long[] {1, 2}, 2), -100)); // targets shape
        assertThrows(IllegalArgumentException.class,
                () -> F.linearCrossEntropy(x, w, TestArrays.longs(new long[] {0, 7, 0, 0, 0, 0, 0, 0}, 2, 4), -100));
        assertThrows(IllegalArgumentException.class,
                () -> F.linearCrossEntropy(x, w, TestArrays.uniform(1, 0, 1, 2, 4), -100)); // not integers
    }
}
