package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Natural log elementwise (NaN for negative inputs, -inf at 0, as in IEEE arithmetic). */
public final class Log extends Function {
    private INDArray a;

    @Override
    protected INDArray forward(INDArray... in) {
        a = in[0];
        return Transforms.log(in[0], true);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {g.div(a)};
    }

    @Override
    protected void release() {
        a = null;
    }
}
