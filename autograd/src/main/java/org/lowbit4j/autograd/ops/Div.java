package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/** a / b elementwise with NumPy broadcasting; backward sums each gradient over that input's broadcast axes. */
public final class Div extends Function {
    private long[] shapeA;
    private long[] shapeB;
    private INDArray b;
    private INDArray out;

    @Override
    protected INDArray forward(INDArray... in) {
        shapeA = in[0].shape();
        shapeB = in[1].shape();
        Shapes.broadcast(name(), shapeA, shapeB);
        b = in[1];
        out = in[0].div(in[1]);
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        // d(a/b)/db = -a/b^2 = -out/b
        INDArray gOverB = g.div(b);
        return new INDArray[] {needsGrad(0) ? Shapes.reduceTo(gOverB, shapeA) : null,
                needsGrad(1) ? Shapes.reduceTo(gOverB.mul(out).negi(), shapeB) : null};
    }

    @Override
    protected void release() {
        b = null;
        out = null;
    }
}
