package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Softmax along one axis, max-subtracted so that large logits do not overflow; sums in double.
 * Backward: dx = y (g - sum(g y, axis)). A non-last axis is moved last (one copy each way).
 */
public final class Softmax extends Function {
    private final int axis;
    private int ax;
    private INDArray yRows;

    /** @param axis the axis to normalize over (negative from the end) */
    public Softmax(int axis) {
        this.axis = axis;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        ax = Shapes.axis(name(), in[0].rank(), axis);
        Shapes.requireFloat(name(), "input", in[0]);
        yRows = Reductions.softmaxRows(Reductions.toRows(in[0], ax), false);
        return Reductions.fromRows(yRows, ax);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        INDArray dx = Reductions.softmaxRowsBackward(yRows, Reductions.toRows(g, ax), false);
        return new INDArray[] {Reductions.fromRows(dx, ax)};
    }

    @Override
    protected void release() {
        yRows = null;
    }
}
