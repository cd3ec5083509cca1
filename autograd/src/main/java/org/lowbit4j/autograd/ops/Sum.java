package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Sum over axes (none = all), optionally keeping them with size 1; accumulates in double in a fixed
 * order. Backward broadcasts the gradient back over the reduced axes.
 */
public final class Sum extends Function {
    private final boolean keepDims;
    private final int[] axes;
    private long[] inShape;
    private long[] keptShape;

    /**
     * @param keepDims keep reduced axes as size-1 dimensions
     * @param axes axes to reduce, negative from the end; empty = all
     */
    public Sum(boolean keepDims, int... axes) {
        this.keepDims = keepDims;
        this.axes = axes == null ? new int[0] : axes.clone();
    }

    @Override
    protected INDArray forward(INDArray... in) {
        inShape = in[0].shape();
        int[] ax = Shapes.normalizeAxes(name(), inShape.length, axes);
        keptShape = inShape.clone();
        for (int a : ax) {
            keptShape[a] = 1;
        }
        if (inShape.length == 0) {
            return in[0].dup();
        }
        return Reductions.sum(in[0], ax, keepDims);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {expandBack(g, keptShape, inShape)};
    }

    /** Reshapes g to the kept-dims shape and broadcasts it to the input shape. */
    static INDArray expandBack(INDArray g, long[] keptShape, long[] inShape) {
        if (inShape.length == 0) {
            return g.reshape(new long[0]);
        }
        INDArray kept = Arrays.equals(g.shape(), keptShape) ? g : g.reshape('c', keptShape);
        return Shapes.expand(kept, inShape);
    }

    @Override
    public String name() {
        return "Sum" + Arrays.toString(axes);
    }
}
