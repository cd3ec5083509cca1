package org.lowbit4j.autograd.ops;

import java.lang.ref.Reference;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Sums over axes and row-wise softmax in plain Java over MemorySegments, accumulating in double.
 *
 * <p>NOTE: used instead of ND4J's axis reductions, which cost 0.05 to 15 ms per call on small arrays
 * on a loaded machine (OpenMP start-up), sum FLOAT in float, and are not guaranteed to sum in a
 * fixed order. Here every sum runs in C order of the input, so results are reproducible bit for bit.
 */
final class Reductions {
    private Reductions() {
    }

    /**
     * @param x FLOAT or DOUBLE array (other types go to ND4J's sum)
     * @param axes sorted distinct non-negative axes to reduce (may be all)
     * @param keepDims keep reduced axes with size 1
     * @return a new array of x's type
     */
    static INDArray sum(INDArray x, int[] axes, boolean keepDims) {
        long[] shape = x.shape();
        int rank = shape.length;
        if (rank == 0) {
            return x.dup();
        }
        if (x.dataType() != org.nd4j.linalg.api.buffer.DataType.FLOAT
                && x.dataType() != org.nd4j.linalg.api.buffer.DataType.DOUBLE) {
            // other floating types (HALF, BFLOAT16) keep ND4J's own reduction
            return x.sum(keepDims, axes);
        }
        boolean[] red = new boolean[rank];
        for (int a : axes) {
            red[a] = true;
        }
        long[] kept = shape.clone();
        for (int d = 0; d < rank; d++) {
            if (red[d]) {
                kept[d] = 1;
            }
        }
        long outLen = Shapes.count(kept);
        if (outLen > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("sum: result of " + outLen + " elements is too large");
        }
        double[] acc = new double[(int) outLen];
        long[] ostr = new long[rank];
        long st = 1;
        for (int d = rank - 1; d >= 0; d--) {
            ostr[d] = red[d] ? 0 : st;
            st *= kept[d];
        }
        long len = x.length();
        long inner = shape[rank - 1];
        if (len > 0 && inner > 0) {
            Buf b = Buf.of(Shapes.dense(x));
            long outer = len / inner;
            long innerStride = ostr[rank - 1];
            long[] idx = new long[rank];
            int obase = 0;
            for (long o = 0; o < outer; o++) {
                long base = o * inner;
                if (innerStride == 0) {
                    double s = 0;
                    for (long j = 0; j < inner; j++) {
                        s += b.get(base + j);
                    }
                    acc[obase] += s;
                } else {
                    for (int j = 0; j < inner; j++) {
                        acc[obase + j] += b.get(base + j);
                    }
                }
                for (int d = rank - 2; d >= 0; d--) {
                    idx[d]++;
                    obase += (int) ostr[d];
                    if (idx[d] < shape[d]) {
                        break;
                    }
                    obase -= (int) (ostr[d] * shape[d]);
                    idx[d] = 0;
                }
            }
            Reference.reachabilityFence(b);
        }
        long[] outShape = keepDims ? kept : squeeze(shape, red);
        return Nd4j.createFromArray(acc).castTo(x.dataType()).reshape('c', outShape);
    }

    private static long[] squeeze(long[] shape, boolean[] red) {
        long[] out = new long[shape.length];
        int n = 0;
        for (int d = 0; d < shape.length; d++) {
            if (!red[d]) {
                out[n++] = shape[d];
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** @return the permutation moving axis {@code ax} to the end (others keep their order) */
    static int[] axisLast(int rank, int ax) {
        int[] p = new int[rank];
        int n = 0;
        for (int d = 0; d < rank; d++) {
            if (d != ax) {
                p[n++] = d;
            }
        }
        p[rank - 1] = ax;
        return p;
    }

    /** @return the inverse of permutation p */
    static int[] inverse(int[] p) {
        int[] inv = new int[p.length];
        for (int i = 0; i < p.length; i++) {
            inv[p[i]] = i;
        }
        return inv;
    }

    /** @return x with axis ax moved last, as a dense C-ordered array (x itself if ax is last and x is dense) */
    static INDArray toRows(INDArray x, int ax) {
        if (ax == x.rank() - 1) {
            return Shapes.dense(x);
        }
        return x.permute(axisLast(x.rank(), ax)).dup('c');
    }

    /** Inverse of {@link #toRows}: a dense array of the original layout. */
    static INDArray fromRows(INDArray rows, int ax) {
        if (ax == rows.rank() - 1) {
            return rows;
        }
        return rows.permute(inverse(axisLast(rows.rank(), ax))).dup('c');
    }

    /**
     * Softmax or log-softmax of every row (last axis) of a dense array, max-subtracted.
     *
     * @param log true for log-softmax
     * @return a new dense array of x's shape and type
     */
    static INDArray softmaxRows(INDArray x, boolean log) {
        INDArray out = Nd4j.create(x.dataType(), x.shape(), 'c');
        long n = x.size(x.rank() - 1);
        if (x.length() == 0 || n == 0) {
            return out;
        }
        Buf bx = Buf.of(x);
        Buf bo = Buf.of(out);
        for (long base = 0, len = x.length(); base < len; base += n) {
            double max = Double.NEGATIVE_INFINITY;
            for (long j = 0; j < n; j++) {
                max = Math.max(max, bx.get(base + j));
            }
            double sum = 0;
            for (long j = 0; j < n; j++) {
                sum += Math.exp(bx.get(base + j) - max);
            }
            if (log) {
                double lse = max + Math.log(sum);
                for (long j = 0; j < n; j++) {
                    bo.set(base + j, bx.get(base + j) - lse);
                }
            } else {
                double inv = 1.0 / sum;
                for (long j = 0; j < n; j++) {
                    bo.set(base + j, Math.exp(bx.get(base + j) - max) * inv);
                }
            }
        }
        Reference.reachabilityFence(bx);
        Reference.reachabilityFence(bo);
        return out;
    }

    /**
     * Backward of {@link #softmaxRows} per row: softmax dx = y (g - sum(g y)); log-softmax
     * dx = g - e^y sum(g).
     *
     * @param y the saved forward output (rows layout), g the gradient in the same layout
     */
    static INDArray softmaxRowsBackward(INDArray y, INDArray g, boolean log) {
        INDArray dx = Nd4j.create(y.dataType(), y.shape(), 'c');
        long n = y.size(y.rank() - 1);
        if (y.length() == 0 || n == 0) {
            return dx;
        }
        Buf by = Buf.of(y);
        Buf bg = Buf.of(Shapes.dense(g));
        Buf bd = Buf.of(dx);
        for (long base = 0, len = y.length(); base < len; base += n) {
            double s = 0;
            for (long j = 0; j < n; j++) {
                s += log ? bg.get(base + j) : bg.get(base + j) * by.get(base + j);
            }
            for (long j = 0; j < n; j++) {
                double gj = bg.get(base + j);
                double yj = by.get(base + j);
                bd.set(base + j, log ? gj - Math.exp(yj) * s : yj * (gj - s));
            }
        }
        Reference.reachabilityFence(by);
        Reference.reachabilityFence(bg);
        Reference.reachabilityFence(bd);
        return dx;
    }
}
