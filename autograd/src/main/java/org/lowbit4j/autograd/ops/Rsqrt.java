package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** 1 / sqrt(a) elementwise; d/da = -out^3 / 2. */
public final class Rsqrt extends Function {
    private INDArray out;

    @Override
    protected INDArray forward(INDArray... in) {
        out = Transforms.sqrt(in[0], true).rdivi(1.0);
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {out.mul(out).muli(out).muli(-0.5).muli(g)};
    }

    @Override
    protected void release() {
        out = null;
    }
}
