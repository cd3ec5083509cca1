package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** a + b with NumPy broadcasting; backward sums each gradient over that input's broadcast axes. */
public final class Add extends Function {
    private long[] shapeA;
    private long[] shapeB;

    @Override
    protected INDArray forward(INDArray... in) {
        shapeA = in[0].shape();
        shapeB = in[1].shape();
        Shapes.broadcast(name(), shapeA, shapeB);
        if (Arrays.equals(shapeA, shapeB)) {
            return Elementwise.add(in[0], in[1], Nd4j.createUninitialized(in[0].dataType(), shapeA, 'c'));
        }
        return in[0].add(in[1]);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {needsGrad(0) ? Shapes.reduceTo(g, shapeA) : null,
                needsGrad(1) ? Shapes.reduceTo(g, shapeB) : null};
    }
}
