package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Shape arithmetic shared by the primitives: NumPy broadcasting, axis normalization, contiguity. */
final class Shapes {
    private Shapes() {
    }

    /**
     * @return the NumPy broadcast of two shapes (aligned from the right; size-1 dimensions stretch)
     * @throws IllegalArgumentException if some aligned pair differs and neither is 1
     */
    static long[] broadcast(String op, long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and "
                        + Arrays.toString(b) + " do not broadcast (dimension " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /**
     * Sums a broadcast gradient back to an operand's shape: over the leading dimensions the operand
     * lacks and over dimensions where the operand has size 1.
     *
     * @param g gradient of the broadcast result
     * @param shape the operand's shape (rank at most g's rank)
     * @return an array of exactly {@code shape}; g itself if the shapes already agree
     */
    static INDArray reduceTo(INDArray g, long[] shape) {
        long[] gs = g.shape();
        if (Arrays.equals(gs, shape)) {
            return g;
        }
        int lead = gs.length - shape.length;
        int[] axes = new int[gs.length];
        int n = 0;
        for (int i = 0; i < gs.length; i++) {
            if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) {
                axes[n++] = i;
            }
        }
        INDArray s = n == 0 ? g : Reductions.sum(g, Arrays.copyOf(axes, n), true);
        if (shape.length == 0) {
            return s.reshape(new long[0]);
        }
        return s.reshape('c', shape);
    }

    /**
     * Materializes a broadcast of g (whose shape broadcasts to {@code shape}) as a new array.
     *
     * @return a new C-ordered array of {@code shape}
     */
    static INDArray expand(INDArray g, long[] shape) {
        INDArray out = Nd4j.create(g.dataType(), shape, 'c');
        long[] gs = g.shape();
        if (Arrays.equals(gs, shape)) {
            return out.assign(g);
        }
        long[] aligned = new long[shape.length];
        int lead = shape.length - gs.length;
        for (int i = 0; i < shape.length; i++) {
            aligned[i] = i < lead ? 1 : gs[i - lead];
        }
        // NOTE: add into zeros rather than assign: ND4J's in-place pairwise ops broadcast the
        // argument, while assign of a smaller array is not guaranteed to.
        return out.assign(0).addi(g.reshape('c', aligned));
    }

    /**
     * @param rank rank of the array the axes refer to
     * @param axes axes, negative counting from the end; empty = all
     * @return sorted distinct non-negative axes
     * @throws IllegalArgumentException for an axis out of range or repeated
     */
    static int[] normalizeAxes(String op, int rank, int... axes) {
        if (axes == null || axes.length == 0) {
            int[] all = new int[rank];
            for (int i = 0; i < rank; i++) {
                all[i] = i;
            }
            return all;
        }
        int[] out = new int[axes.length];
        for (int i = 0; i < axes.length; i++) {
            out[i] = axis(op, rank, axes[i]);
        }
        Arrays.sort(out);
        for (int i = 1; i < out.length; i++) {
            if (out[i] == out[i - 1]) {
                throw new IllegalArgumentException(op + ": axis " + out[i] + " given twice in " + Arrays.toString(axes));
            }
        }
        return out;
    }

    /** @return the axis as a non-negative index into a rank-{@code rank} shape */
    static int axis(String op, int rank, int axis) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException(op + ": axis " + axis + " is out of range for rank " + rank);
        }
        return a;
    }

    /** @return the product of the dimensions */
    static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** @return whether the array is laid out densely in C order (so a MemorySegment can walk it) */
    static boolean isDenseC(INDArray a) {
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expect = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expect) {
                return false;
            }
            expect *= shape[i];
        }
        return true;
    }

    /** @return a itself if dense C-ordered, else a dense C-ordered copy */
    static INDArray dense(INDArray a) {
        return isDenseC(a) ? a : a.dup('c');
    }

    /**
     * @return a itself if it is dense C-ordered with offset 0, else a dense C-ordered copy
     *     (NOTE: ND4J 1.0.0-M2.1 mis-indexes views that have an offset: {@code get(point(..), ...)}
     *     on them returns an empty shape, so anything indexed later must come through here)
     */
    static INDArray indexable(INDArray a) {
        return a.offset() == 0 && isDenseC(a) ? a : a.dup('c');
    }

    /** @throws IllegalArgumentException unless the array holds FLOAT or DOUBLE */
    static void requireFloat(String op, String what, INDArray a) {
        switch (a.dataType()) {
            case FLOAT, DOUBLE -> {
            }
            default -> throw new IllegalArgumentException(op + ": " + what + " must be FLOAT or DOUBLE, got " + a.dataType());
        }
    }
}
