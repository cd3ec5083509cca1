package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Mean over axes (none = all), optionally keeping them with size 1; see {@link Sum}. */
public final class Mean extends Function {
    private final boolean keepDims;
    private final int[] axes;
    private long[] inShape;
    private long[] keptShape;
    private long count;

    /**
     * @param keepDims keep reduced axes as size-1 dimensions
     * @param axes axes to reduce, negative from the end; empty = all
     */
    public Mean(boolean keepDims, int... axes) {
        this.keepDims = keepDims;
        this.axes = axes == null ? new int[0] : axes.clone();
    }

    @Override
    protected INDArray forward(INDArray... in) {
        inShape = in[0].shape();
        int[] ax = Shapes.normalizeAxes(name(), inShape.length, axes);
        keptShape = inShape.clone();
        count = 1;
        for (int a : ax) {
            keptShape[a] = 1;
            count *= inShape[a];
        }
        if (count == 0) {
            throw new IllegalArgumentException(name() + ": mean over an empty axis of shape " + Arrays.toString(inShape));
        }
        if (inShape.length == 0) {
            return in[0].dup();
        }
        // NOTE: sum in double then divide, like Sum, rather than ND4J's float mean.
        return Reductions.sum(in[0], ax, keepDims).divi(count);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {Sum.expandBack(g, keptShape, inShape).divi(count)};
    }

    @Override
    public String name() {
        return "Mean" + Arrays.toString(axes);
    }
}
