package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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
        if (Arrays.equals(shapeA, shapeB)) {
            return Elementwise.mul(in[0], in[1], Nd4j.createUninitialized(in[0].dataType(), shapeA, 'c'));
        }
        return in[0].mul(in[1]);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {needsGrad(0) ? gradient(0, g, b, shapeA) : null,
                needsGrad(1) ? gradient(1, g, a, shapeB) : null};
    }

    /** g * other summed to shape; without broadcasting, straight into {@link #gradBuffer} memory. */
    private INDArray gradient(int i, INDArray g, INDArray other, long[] shape) {
        if (Arrays.equals(shapeA, shapeB)) {
            return Elementwise.mul(g, other, gradBuffer(i));
        }
        return Shapes.reduceTo(g.mul(other), shape);
    }

    @Override
    protected void release() {
        a = null;
        b = null;
    }
}
