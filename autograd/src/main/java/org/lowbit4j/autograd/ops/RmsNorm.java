package org.lowbit4j.autograd.ops;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fused RMSNorm over the last axis: y = x r w with r = 1 / sqrt(mean(x^2) + eps) per row. One pass
 * per row forward (Vector API kernels for FLOAT); backward uses dx = r (g w) - x r^3 sum(g w x) / C and dw = sum over rows of g x r.
 * DOUBLE sums accumulate in double; FLOAT sums in Vector API lanes; the backward runs in double
 * ({@link RowKernels} for FLOAT: bit for bit the scalar formulas, on two cores for large inputs) and
 * writes its gradients into {@link #gradBuffer} memory.
 *
 * <p>Inputs: x [..., C], weight [C]. Output: [..., C].
 */
public final class RmsNorm extends Function {
    private final double eps;
    private INDArray x;
    private INDArray w;
    private double[] r;

    /**
     * @param eps added to the mean square before the square root (e.g. 1e-5)
     * @throws IllegalArgumentException if eps is negative or not finite
     */
    public RmsNorm(double eps) {
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("RmsNorm: eps must be finite and >= 0, got " + eps);
        }
        this.eps = eps;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        long[] xs = in[0].shape();
        long c = xs.length == 0 ? 0 : xs[xs.length - 1];
        if (in[1].rank() != 1 || in[1].length() != c) {
            throw new IllegalArgumentException(name() + ": weight must be [" + c + "] for input "
                    + Arrays.toString(xs) + ", got " + Arrays.toString(in[1].shape()));
        }
        Shapes.requireFloat(name(), "input", in[0]);
        x = Shapes.dense(in[0]);
        w = Shapes.dense(in[1]);
        long rows = x.length() / c;
        if (rows > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name() + ": too many rows: " + rows);
        }
        r = new double[(int) rows];
        INDArray out = Nd4j.createUninitialized(x.dataType(), xs, 'c'); // every element written below
        Buf bx = Buf.of(x);
        Buf bw = Buf.of(w);
        Buf bo = Buf.of(out);
        for (int row = 0; row < rows; row++) {
            long base = row * c;
            if (bx.isDouble()) {
                double ss = 0;
                for (long j = 0; j < c; j++) {
                    double v = bx.get(base + j);
                    ss += v * v;
                }
                double ri = 1.0 / Math.sqrt(ss / c + eps);
                r[row] = ri;
                for (long j = 0; j < c; j++) {
                    bo.set(base + j, bx.get(base + j) * ri * bw.get(j));
                }
            } else {
                double ri = 1.0 / Math.sqrt(Kernels.dot(bx.segment(), base, bx.segment(), base, c) / c + eps);
                r[row] = ri;
                Kernels.scaleMul(bx.segment(), base, bw.segment(), bo.segment(), c, (float) ri);
            }
        }
        Reference.reachabilityFence(bx);
        Reference.reachabilityFence(bw);
        Reference.reachabilityFence(bo);
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        int c = (int) w.length();
        int rows = r.length;
        Buf bg = Buf.of(Shapes.dense(g));
        Buf bx = Buf.of(x);
        Buf bw = Buf.of(w);
        INDArray dx = needsGrad(0) ? gradBuffer(0) : null; // [..., C]
        Buf bdx = dx == null ? null : Buf.of(dx);
        double[] dw = needsGrad(1) ? new double[c] : null;
        if (!bx.isDouble()) {
            backwardFloat(bx.segment(), bg.segment(), bw.segment(), bdx == null ? null : bdx.segment(), dw, rows, c);
        } else {
            backwardDouble(bx, bg, bw, bdx, dw, rows, c);
        }
        INDArray dwArr = null;
        if (dw != null) {
            dwArr = gradBuffer(1); // [C]
            Buf bdw = Buf.of(dwArr);
            for (int j = 0; j < c; j++) {
                bdw.set(j, dw[j]);
            }
            Reference.reachabilityFence(bdw);
        }
        Reference.reachabilityFence(bg);
        Reference.reachabilityFence(bx);
        Reference.reachabilityFence(bw);
        Reference.reachabilityFence(bdx);
        return new INDArray[] {dx, dwArr};
    }

    /**
     * The FLOAT backward on two cores when large: one computes dx of the first rows, the other dw (all
     * rows, in order) and dx of the rest. Each dx row and each dw element is the same computation
     * wherever it runs, so the split never changes the bits.
     */
    private void backwardFloat(MemorySegment x, MemorySegment g, MemorySegment w, MemorySegment dx, double[] dw,
            int rows, int c) {
        if ((long) rows * c < RowKernels.PARALLEL_MIN || dx == null) {
            if (dx != null) {
                RowKernels.rmsNormInputGrad(x, g, w, dx, r, c, 0, rows);
            }
            if (dw != null) {
                RowKernels.rmsNormWeightGrad(x, g, dw, r, c, 0, rows);
            }
            return;
        }
        // NOTE: dw costs about a third of dx per row, so with dw the second part takes fewer dx rows.
        int split = (dw == null ? rows / 2 : rows * 3 / 5) / RowKernels.ROW_BLOCK * RowKernels.ROW_BLOCK;
        Gemm.forEachParallel(2, part -> {
            if (part == 0) {
                RowKernels.rmsNormInputGrad(x, g, w, dx, r, c, 0, split);
            } else {
                if (dw != null) {
                    RowKernels.rmsNormWeightGrad(x, g, dw, r, c, 0, rows);
                }
                RowKernels.rmsNormInputGrad(x, g, w, dx, r, c, split, rows);
            }
        });
    }

    /** The backward of DOUBLE arrays, row by row (the FLOAT path computes the same in {@link RowKernels}). */
    private void backwardDouble(Buf bx, Buf bg, Buf bw, Buf bdx, double[] dw, int rows, int c) {
        for (int row = 0; row < rows; row++) {
            long base = (long) row * c;
            double ri = r[row];
            if (dw != null) {
                for (int j = 0; j < c; j++) {
                    dw[j] += bg.get(base + j) * bx.get(base + j) * ri;
                }
            }
            if (bdx != null) {
                double dot = 0;
                for (long j = 0; j < c; j++) {
                    dot += bg.get(base + j) * bw.get(j) * bx.get(base + j);
                }
                double k = ri * ri * ri * dot / c;
                for (long j = 0; j < c; j++) {
                    bdx.set(base + j, ri * bg.get(base + j) * bw.get(j) - bx.get(base + j) * k);
                }
            }
        }
    }

    @Override
    protected void release() {
        x = null;
        w = null;
        r = null;
    }
}
