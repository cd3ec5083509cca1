package org.lowbit4j.autograd.ops;

import java.lang.ref.Reference;
import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fused RMSNorm over the last axis: y = x r w with r = 1 / sqrt(mean(x^2) + eps) per row. One pass
 * per row forward (Vector API kernels for FLOAT); backward uses dx = r (g w) - x r^3 sum(g w x) / C and dw = sum over rows of g x r.
 * DOUBLE sums accumulate in double; FLOAT sums in Vector API lanes; the backward runs in double.
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
        INDArray out = Nd4j.create(x.dataType(), xs, 'c');
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
        long c = w.length();
        int rows = r.length;
        Buf bg = Buf.of(Shapes.dense(g));
        Buf bx = Buf.of(x);
        Buf bw = Buf.of(w);
        INDArray dx = needsGrad(0) ? Nd4j.create(x.dataType(), x.shape(), 'c') : null;
        Buf bdx = dx == null ? null : Buf.of(dx);
        double[] dw = needsGrad(1) ? new double[(int) c] : null;
        for (int row = 0; row < rows; row++) {
            long base = row * c;
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
        INDArray dwArr = null;
        if (dw != null) {
            dwArr = Nd4j.createFromArray(dw).castTo(w.dataType()).reshape(w.shape());
        }
        Reference.reachabilityFence(bg);
        Reference.reachabilityFence(bx);
        Reference.reachabilityFence(bw);
        Reference.reachabilityFence(bdx);
        return new INDArray[] {dx, dwArr};
    }

    @Override
    protected void release() {
        x = null;
        w = null;
        r = null;
    }
}
