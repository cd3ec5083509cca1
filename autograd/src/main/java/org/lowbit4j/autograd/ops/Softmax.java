package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Softmax along one axis, max-subtracted so that large logits do not overflow. Backward:
 * dx = y (g - sum(g y, axis)).
 */
public final class Softmax extends Function {
    private final int axis;
    private int ax;
    private INDArray y;

    /** @param axis the axis to normalize over (negative from the end) */
    public Softmax(int axis) {
        this.axis = axis;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        ax = Shapes.axis(name(), in[0].rank(), axis);
        INDArray e = Transforms.exp(in[0].sub(in[0].max(true, ax)), false);
        y = e.divi(e.sum(true, ax));
        return y;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        INDArray dot = g.mul(y).sum(true, ax);
        return new INDArray[] {g.sub(dot).muli(y)};
    }

    @Override
    protected void release() {
        y = null;
    }
}
