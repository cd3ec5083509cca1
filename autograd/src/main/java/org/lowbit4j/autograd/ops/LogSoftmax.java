package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * log softmax along one axis: x - max - log(sum(exp(x - max))). Backward:
 * dx = g - softmax(x) sum(g, axis).
 */
public final class LogSoftmax extends Function {
    private final int axis;
    private int ax;
    private INDArray y;

    /** @param axis the axis to normalize over (negative from the end) */
    public LogSoftmax(int axis) {
        this.axis = axis;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        ax = Shapes.axis(name(), in[0].rank(), axis);
        INDArray shifted = in[0].sub(in[0].max(true, ax));
        INDArray lse = Transforms.log(Transforms.exp(shifted, true).sum(true, ax), false);
        y = shifted.subi(lse);
        return y;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        INDArray p = Transforms.exp(y, true);
        return new INDArray[] {g.sub(p.muli(g.sum(true, ax)))};
    }

    @Override
    protected void release() {
        y = null;
    }
}
