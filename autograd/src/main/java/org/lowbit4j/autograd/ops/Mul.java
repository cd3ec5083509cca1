package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/** a * b elementwise with NumPy broadcasting; backward sums each gradient over that input's broadcast axes. */
public final class Mul extends Function {
    private long[] shapeA;
    private long[] shapeB;
    private INDArray a;
    private INDArray b;

    @Override
    protected INDArray forward(INDArray... in) {
        shapeA = in[0].shape();
        shapeB = in[1].shape();
        Shapes.broadcast(name(), shapeA, shapeB);
        a = needsGrad(1) ? in[0] : null;
        b = needsGrad(0) ? in[1] : null;
        return in[0].mul(in[1]);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {needsGrad(0) ? Shapes.reduceTo(g.mul(b), shapeA) : null,
                needsGrad(1) ? Shapes.reduceTo(g.mul(a), shapeB) : null};
    }

    @Override
    protected void release() {
        a = null;
        b = null;
    }
}
