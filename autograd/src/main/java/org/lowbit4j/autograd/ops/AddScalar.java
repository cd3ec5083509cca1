package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/** a + s for a constant s. */
public final class AddScalar extends Function {
    private final double s;

    /** @param s the constant added to every element */
    public AddScalar(double s) {
        this.s = s;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        return in[0].add(s);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {g};
    }
}
