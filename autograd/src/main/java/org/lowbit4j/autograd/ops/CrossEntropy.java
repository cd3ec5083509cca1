package org.lowbit4j.autograd.ops;

import java.lang.ref.Reference;
import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Mean cross-entropy of logits against integer targets, fused: one pass per row computes the
 * max-subtracted log-sum-exp and the NLL of the target. Rows whose target equals ignoreIndex
 * contribute nothing; the mean is over kept rows (0 if none). Backward:
 * (softmax - onehot(target)) * g / count, zero rows where ignored.
 *
 * <p>Input: logits [N, V] or [B, T, V]; targets (constructor) [N] or [B, T]. Output: a scalar
 * (rank 0) of the logits' type.
 */
public final class CrossEntropy extends Function {
    private final long[] targetShape;
    private final long[] targets;
    private final int ignoreIndex;
    private INDArray logits;
    private double[] lse;
    private long kept;

    /**
     * @param targets integer array [N] or [B, T]
     * @param ignoreIndex target value to skip (e.g. -100)
     * @throws IllegalArgumentException if targets are not integers
     */
    public CrossEntropy(INDArray targets, int ignoreIndex) {
        if (!targets.dataType().isIntType()) {
            throw new IllegalArgumentException("CrossEntropy: targets must be an integer array, got " + targets.dataType());
        }
        this.targetShape = targets.shape();
        this.targets = targets.length() == 0 ? new long[0] : Shapes.dense(targets).reshape(targets.length()).toLongVector();
        this.ignoreIndex = ignoreIndex;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        long[] ls = in[0].shape();
        if (ls.length < 2 || ls.length > 3 || !Arrays.equals(Arrays.copyOf(ls, ls.length - 1), targetShape)) {
            throw new IllegalArgumentException(name() + ": logits " + Arrays.toString(ls) + " must be [N, V] or [B, T, V]"
                    + " with targets of the leading shape, got targets " + Arrays.toString(targetShape));
        }
        Shapes.requireFloat(name(), "logits", in[0]);
        long v = ls[ls.length - 1];
        int rows = targets.length;
        for (int i = 0; i < rows; i++) {
            if (targets[i] != ignoreIndex && (targets[i] < 0 || targets[i] >= v)) {
                throw new IllegalArgumentException(name() + ": target " + targets[i] + " at flat position " + i
                        + " is outside [0, " + v + ") and is not ignoreIndex " + ignoreIndex);
            }
        }
        logits = Shapes.dense(in[0]);
        lse = new double[rows];
        Buf x = Buf.of(logits);
        double total = 0;
        kept = 0;
        for (int row = 0; row < rows; row++) {
            if (targets[row] == ignoreIndex) {
                continue;
            }
            long base = row * v;
            if (x.isDouble()) {
                double max = Double.NEGATIVE_INFINITY;
                for (long j = 0; j < v; j++) {
                    max = Math.max(max, x.get(base + j));
                }
                double sum = 0;
                for (long j = 0; j < v; j++) {
                    sum += Math.exp(x.get(base + j) - max);
                }
                lse[row] = max + Math.log(sum);
            } else {
                float max = Kernels.max(x.segment(), base, v);
                lse[row] = max + Math.log(Kernels.expShift(x.segment(), base, null, 0, v, max, false));
            }
            total += lse[row] - x.get(base + targets[row]);
            kept++;
        }
        Reference.reachabilityFence(x);
        double loss = kept == 0 ? 0.0 : total / kept;
        return Nd4j.scalar(in[0].dataType(), loss);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        INDArray dx = Nd4j.zeros(logits.dataType(), logits.shape());
        if (kept == 0) {
            return new INDArray[] {dx};
        }
        double scale = g.getDouble(0) / kept;
        long v = logits.size(logits.rank() - 1);
        Buf x = Buf.of(logits);
        Buf d = Buf.of(dx);
        for (int row = 0; row < targets.length; row++) {
            if (targets[row] == ignoreIndex) {
                continue;
            }
            long base = row * v;
            if (x.isDouble()) {
                for (long j = 0; j < v; j++) {
                    d.set(base + j, Math.exp(x.get(base + j) - lse[row]) * scale);
                }
            } else {
                Kernels.expShiftScale(x.segment(), base, d.segment(), base, v, (float) lse[row], (float) scale);
            }
            long t = base + targets[row];
            d.set(t, (Math.exp(x.get(t) - lse[row]) - 1.0) * scale);
        }
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(d);
        return new INDArray[] {dx};
    }

    @Override
    protected void release() {
        logits = null;
        lse = null;
    }
}
