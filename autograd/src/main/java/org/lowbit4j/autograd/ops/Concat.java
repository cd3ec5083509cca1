package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Joins arrays along one axis; all other dimensions must agree. Backward slices the gradient. */
public final class Concat extends Function {
    private final int axis;
    private int ax;
    private long[] sizes;

    /** @param axis the axis to join along (negative from the end) */
    public Concat(int axis) {
        this.axis = axis;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        if (in.length == 0) {
            throw new IllegalArgumentException(name() + ": nothing to concatenate");
        }
        long[] first = in[0].shape();
        ax = Shapes.axis(name(), first.length, axis);
        sizes = new long[in.length];
        for (int i = 0; i < in.length; i++) {
            long[] s = in[i].shape();
            boolean ok = s.length == first.length;
            for (int d = 0; ok && d < s.length; d++) {
                ok = d == ax || s[d] == first[d];
            }
            if (!ok) {
                throw new IllegalArgumentException(name() + ": part " + i + " has shape " + Arrays.toString(s)
                        + ", incompatible with part 0 " + Arrays.toString(first) + " along axis " + ax);
            }
            sizes[i] = s[ax];
        }
        if (in.length == 1) {
            return in[0].dup('c');
        }
        INDArray[] parts = new INDArray[in.length];
        for (int i = 0; i < in.length; i++) {
            parts[i] = Shapes.indexable(in[i]);
        }
        return org.nd4j.linalg.factory.Nd4j.concat(ax, parts);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        INDArray[] out = new INDArray[sizes.length];
        INDArray gi = Shapes.indexable(g);
        long at = 0;
        for (int i = 0; i < sizes.length; i++) {
            if (needsGrad(i)) {
                INDArrayIndex[] idx = new INDArrayIndex[g.rank()];
                for (int d = 0; d < idx.length; d++) {
                    idx[d] = d == ax ? NDArrayIndex.interval(at, at + sizes[i]) : NDArrayIndex.all();
                }
                out[i] = gi.get(idx).dup('c');
            }
            at += sizes[i];
        }
        return out;
    }
}
