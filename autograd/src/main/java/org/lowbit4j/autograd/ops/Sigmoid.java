package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** 1 / (1 + e^-a) elementwise; d/da = out (1 - out). */
public final class Sigmoid extends Function {
    private INDArray out;

    @Override
    protected INDArray forward(INDArray... in) {
        out = Transforms.sigmoid(in[0], true);
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {out.rsub(1.0).muli(out).muli(g)};
    }

    @Override
    protected void release() {
        out = null;
    }
}
