package org.lowbit4j.autograd.ops;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Elements [start, end) along one axis; backward writes the gradient into zeros of the input shape. */
public final class Slice extends Function {
    private final int axis;
    private final long start;
    private final long end;
    private long[] inShape;
    private INDArrayIndex[] index;

    /**
     * @param axis the axis (negative from the end)
     * @param start first index kept
     * @param end one past the last index kept
     */
    public Slice(int axis, long start, long end) {
        this.axis = axis;
        this.start = start;
        this.end = end;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        inShape = in[0].shape();
        int ax = Shapes.axis(name(), inShape.length, axis);
        if (start < 0 || end > inShape[ax] || start >= end) {
            throw new IllegalArgumentException(name() + ": range [" + start + ", " + end + ") is invalid for axis "
                    + ax + " of size " + inShape[ax]);
        }
        index = new INDArrayIndex[inShape.length];
        for (int i = 0; i < index.length; i++) {
            index[i] = i == ax ? NDArrayIndex.interval(start, end) : NDArrayIndex.all();
        }
        return Shapes.indexable(in[0]).get(index).dup('c');
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        INDArray out = Nd4j.zeros(g.dataType(), inShape);
        out.get(index).assign(g);
        return new INDArray[] {out};
    }
}
