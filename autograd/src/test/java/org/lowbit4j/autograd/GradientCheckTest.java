package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The checker itself must catch wrong gradients, or every gradient test would prove nothing. */
class GradientCheckTest {

    /** x^2 with a deliberately wrong backward (2x + 0.01). */
    private static final class WrongSquare extends Function {
        private INDArray x;

        @Override
        protected INDArray forward(INDArray... in) {
            x = in[0];
            return in[0].mul(in[0]);
        }

        @Override
        protected INDArray[] backward(INDArray g) {
            return new INDArray[] {x.mul(2).addi(0.01).muli(g)};
        }
    }

    /** x^2 whose backward forgets the second input. */
    private static final class DropsInput extends Function {
        @Override
        protected INDArray forward(INDArray... in) {
            return in[0].mul(in[1]);
        }

        @Override
        protected INDArray[] backward(INDArray g) {
            return new INDArray[] {g.mul(2), null};
        }
    }

    @Test
    void catchesWrongGradientAndNamesIt() {
        Tensor x = param(1, 2, 3);
        AssertionError e = assertThrows(AssertionError.class,
                () -> GradientCheck.assertGradients("wrongSquare", () -> new WrongSquare().apply(x), x));
        assertTrue(e.getMessage().contains("wrongSquare") && e.getMessage().contains("analytic")
                && e.getMessage().contains("numeric") && e.getMessage().contains("index"), e.getMessage());
    }

    @Test
    void catchesMissingGradient() {
        Tensor x = Tensor.parameter(Nd4j.createFromArray(2.0, 2.0));
        Tensor y = param(2, 2);
        assertThrows(AssertionError.class,
                () -> GradientCheck.assertGradients("dropsInput", () -> new DropsInput().apply(x, y), x, y));
    }

    @Test
    void passesCorrectGradientAndRestoresValues() {
        Tensor x = param(3, 2, 3);
        INDArray before = x.value().dup();
        GradientCheck.Result r = GradientCheck.assertGradients("mul", () -> F.mul(x, x), x);
        assertTrue(r.maxError() < 1e-8, r.toString());
        assertEquals(before, x.value());
    }

    @Test
    void rejectsFloatParameters() {
        Tensor x = Tensor.parameter(Nd4j.rand(DataType.FLOAT, 2));
        assertThrows(IllegalArgumentException.class, () -> GradientCheck.assertGradients("f", () -> F.exp(x), x));
    }
}
