package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rounds to the nearest integer, ties to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2), with the
 * straight-through estimator as gradient: backward passes dL/dy through unchanged, as if the
 * rounding were the identity. The building block of quantization-aware training.
 *
 * <p>Written only against the public {@link Function} API, as a user would write a custom node:
 * <pre>{@code
 * Tensor q = new StraightThroughRound().apply(F.scale(w, 1 / step));
 * }</pre>
 */
public final class StraightThroughRound extends Function {

    /**
     * @param x any floating-point tensor
     * @return round-half-even of x, with an identity gradient
     */
    public static Tensor round(Tensor x) {
        return new StraightThroughRound().apply(x);
    }

    @Override
    protected INDArray forward(INDArray... in) {
        INDArray out = Nd4j.createUninitialized(in[0].dataType(), in[0].shape());
        // rint rounds in the default IEEE mode: to nearest, ties to even.
        Nd4j.exec(new Rint(in[0], out));
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray gradOutput) {
        return new INDArray[] {gradOutput};
    }
}
