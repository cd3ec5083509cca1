package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/** a * s for a constant s. */
public final class Scale extends Function {
    private final double s;

    /** @param s the constant factor */
    public Scale(double s) {
        this.s = s;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        return in[0].mul(s);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {g.mul(s)};
    }
}
