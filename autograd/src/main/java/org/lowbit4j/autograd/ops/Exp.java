package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** e^a elementwise; backward reuses the saved output (d e^a = e^a). */
public final class Exp extends Function {
    private INDArray out;

    @Override
    protected INDArray forward(INDArray... in) {
        out = Transforms.exp(in[0], true);
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {g.mul(out)};
    }

    @Override
    protected void release() {
        out = null;
    }
}
