package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * log softmax along one axis: x - max - log(sum(exp(x - max))), sums in double. Backward:
 * dx = g - softmax(x) sum(g, axis). A non-last axis is moved last (one copy each way).
 */
public final class LogSoftmax extends Function {
    private final int axis;
    private int ax;
    private INDArray yRows;

    /** @param axis the axis to normalize over (negative from the end) */
    public LogSoftmax(int axis) {
        this.axis = axis;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        ax = Shapes.axis(name(), in[0].rank(), axis);
        Shapes.requireFloat(name(), "input", in[0]);
        yRows = Reductions.softmaxRows(Reductions.toRows(in[0], ax), true);
        return Reductions.fromRows(yRows, ax);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        INDArray dx = Reductions.softmaxRowsBackward(yRows, Reductions.toRows(g, ax), true);
        return new INDArray[] {Reductions.fromRows(dx, ax)};
    }

    @Override
    protected void release() {
        yRows = null;
    }
}
