package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/** a - b with NumPy broadcasting; backward sums each gradient over that input's broadcast axes. */
public final class Sub extends Function {
    private long[] shapeA;
    private long[] shapeB;

    @Override
    protected INDArray forward(INDArray... in) {
        shapeA = in[0].shape();
        shapeB = in[1].shape();
        Shapes.broadcast(name(), shapeA, shapeB);
        return in[0].sub(in[1]);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {needsGrad(0) ? Shapes.reduceTo(g, shapeA) : null,
                needsGrad(1) ? Shapes.reduceTo(g.neg(), shapeB) : null};
    }

    @Override
    protected void release() {

    }
}
