package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The same elements in C order under a new shape of equal length (one -1 is inferred). */
public final class Reshape extends Function {
    private final long[] shape;
    private long[] inShape;

    /** @param shape the new shape; at most one entry may be -1 */
    public Reshape(long... shape) {
        this.shape = shape.clone();
    }

    /**
     * @return the shape with any -1 resolved
     * @throws IllegalArgumentException if the lengths differ or the shape is malformed
     */
    static long[] resolve(String op, long[] from, long[] to) {
        long n = Shapes.count(from);
        long known = 1;
        int infer = -1;
        long[] out = to.clone();
        for (int i = 0; i < to.length; i++) {
            if (to[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException(op + ": more than one -1 in " + Arrays.toString(to));
                }
                infer = i;
            } else if (to[i] < 0) {
                throw new IllegalArgumentException(op + ": negative dimension in " + Arrays.toString(to));
            } else {
                known = Math.multiplyExact(known, to[i]);
            }
        }
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new IllegalArgumentException(op + ": cannot infer -1 reshaping " + Arrays.toString(from)
                        + " (" + n + " elements) to " + Arrays.toString(to));
            }
            out[infer] = n / known;
        } else if (known != n) {
            throw new IllegalArgumentException(op + ": cannot reshape " + Arrays.toString(from) + " (" + n
                    + " elements) to " + Arrays.toString(to) + " (" + known + " elements)");
        }
        return out;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        inShape = in[0].shape();
        long[] target = resolve(name(), inShape, shape);
        // NOTE: a copy, never a view: the Function contract forbids aliasing the input.
        INDArray copy = Elementwise.copy(in[0], Nd4j.createUninitialized(in[0].dataType(), inShape, 'c'));
        return copy.reshape('c', target);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {Shapes.dense(g).reshape('c', inShape)};
    }
}
