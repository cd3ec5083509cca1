package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.ops.StraightThroughRound;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The straight-through rounding node, written as a user-defined Function. */
class StraightThroughRoundTest {

    @Test
    void roundsHalfToEven() {
        double[] in = {-2.5, -1.5, -0.5, 0.49, 0.5, 1.5, 2.5, 3.5, 2.6, -0.51};
        double[] expect = {-2, -2, -0.0, 0, 0, 2, 2, 4, 3, -1};
        for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            INDArray x = Nd4j.createFromArray(in).castTo(type);
            INDArray y = StraightThroughRound.round(Tensor.constant(x)).value();
            assertEquals(type, y.dataType());
            assertArrayEquals(expect, TestArrays.flat(y), 0.0, type.toString());
        }
    }

    @Test
    void gradientPassesThroughUnchanged() {
        Tensor x = param(110, 3, 4);
        INDArray seed = TestArrays.uniform(111, -1, 1, 3, 4);
        StraightThroughRound.round(x).backward(seed);
        assertArrayEquals(TestArrays.flat(seed), TestArrays.flat(x.grad()), 0.0);
    }

    @Test
    void composesWithOtherNodes() {
        // fake quantization: y = round(x / s) * s * w; the STE makes dy/dx = w, dy/dw = round(x/s)*s
        Tensor x = param(112, 2, 5);
        Tensor w = param(113, 5);
        double s = 0.25;
        Tensor q = F.scale(StraightThroughRound.round(F.scale(x, 1 / s)), s);
        Tensor y = F.sum(F.mul(q, w), false);
        y.backward();
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 5; j++) {
                assertEquals(w.value().getDouble(j), x.grad().getDouble(i, j), 1e-15);
            }
        }
        for (int j = 0; j < 5; j++) {
            double expect = 0;
            for (int i = 0; i < 2; i++) {
                expect += Math.rint(x.value().getDouble(i, j) / s) * s;
            }
            assertEquals(expect, w.grad().getDouble(j), 1e-15);
        }
    }
}
