package org.lowbit4j.autograd.ops;

import java.lang.ref.Reference;
import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A classifier and its mean cross-entropy as one primitive: loss = crossEntropy(x W^T, targets),
 * with the same numbers, bit for bit, as {@link Linear} followed by {@link CrossEntropy}, but
 * without ever handing the logits [N, V] to the tape.
 *
 * <p>Why: the logits are the largest array of a language-model step (262 MB for stories15M at
 * batch 8 x 256). Here they live in one buffer from {@link ScratchPool} that this primitive owns:
 * backward overwrites it in place with dL/dlogits = (softmax - onehot) * g / count, feeds it to the
 * two GEMMs dx = dlogits W and dW = dlogits^T x, and gives it back to the pool, so the next step
 * reuses the same memory instead of allocating (and zero-filling) two fresh [N, V] arrays.
 *
 * <p>The row work (forward: each row's max and log-sum-exp; backward: softmax minus one-hot, written
 * in place) runs on all cores, in blocks of consecutive rows ({@link Gemm#forEachParallel}). Rows are
 * independent and each is computed exactly as a serial loop would, and the loss is summed in row
 * order afterwards, so the loss and gradients are the same bits for any number of threads.
 *
 * <p>The three products are protected hooks ({@link #logits}, {@link #inputGradient},
 * {@link #weightGradient}) so that a mixed-precision subclass can run them in another format while the
 * softmax and loss rows stay fp32 here; two more ({@link #prepareLogitRows}, {@link #finishGradientRows})
 * let it transform a block of rows inside the row loops while the block is in cache (round the logits
 * to its format, copy dL/dlogits to a 2-byte array) instead of in separate passes over [N, V].
 *
 * <p>Inputs: x [..., C] (e.g. [B, T, C]), w [V, C]; targets (constructor) of x's leading shape,
 * entries equal to ignoreIndex do not count. Output: a scalar (rank 0) of x's type.
 */
public class LinearCrossEntropy extends Function {
    private final long[] targetShape;
    private final long[] targets;
    private final int ignoreIndex;
    private long[] xShape;
    /** x as [N, C] (saved when w needs a gradient), w (saved when x needs one). */
    private INDArray x2;
    private INDArray w;
    /** The pooled logits [N, V]; becomes dL/dlogits in backward. */
    private INDArray logits;
    private double[] lse;
    /** Each kept row's target logit, saved because backward overwrites the logits. */
    private double[] targetLogits;
    private long kept;
    private final boolean parallelRows;

    /**
     * @param targets integer array of x's leading shape ([N] or [B, T])
     * @param ignoreIndex target value to skip (e.g. -100)
     * @throws IllegalArgumentException if targets are not integers
     */
    public LinearCrossEntropy(INDArray targets, int ignoreIndex) {
        this(targets, ignoreIndex, true);
    }

    /**
     * @param targets integer array of x's leading shape ([N] or [B, T])
     * @param ignoreIndex target value to skip (e.g. -100)
     * @param parallelRows false to run the row loops on the calling thread only: the same bits, slower
     *     (tests compare the two)
     * @throws IllegalArgumentException if targets are not integers
     */
    protected LinearCrossEntropy(INDArray targets, int ignoreIndex, boolean parallelRows) {
        this.parallelRows = parallelRows;
        if (!targets.dataType().isIntType()) {
            throw new IllegalArgumentException("LinearCrossEntropy: targets must be an integer array, got "
                    + targets.dataType());
        }
        this.targetShape = targets.shape();
        this.targets = targets.length() == 0 ? new long[0] : Shapes.dense(targets).reshape(targets.length()).toLongVector();
        this.ignoreIndex = ignoreIndex;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        xShape = in[0].shape();
        long[] ws = in[1].shape();
        if (ws.length != 2) {
            throw new IllegalArgumentException(name() + ": weight must be [V, C], got " + Arrays.toString(ws));
        }
        if (xShape.length < 2 || xShape.length > 3 || xShape[xShape.length - 1] != ws[1]
                || !Arrays.equals(Arrays.copyOf(xShape, xShape.length - 1), targetShape)) {
            throw new IllegalArgumentException(name() + ": x " + Arrays.toString(xShape) + " must be [N, C] or [B, T, C]"
                    + " with C = the weight's in-dimension (weight " + Arrays.toString(ws) + ") and targets of the"
                    + " leading shape, got targets " + Arrays.toString(targetShape));
        }
        Shapes.requireFloat(name(), "x", in[0]);
        long v = ws[0];
        int rows = targets.length;
        CrossEntropy.checkTargets(name(), targets, ignoreIndex, v);
        INDArray xm = Shapes.dense(in[0]).reshape('c', rows, ws[1]); // [N, C]
        INDArray wd = Shapes.dense(in[1]);                            // [V, C]
        logits = ScratchPool.take(xm.dataType(), rows, v);            // [N, V]
        logits(xm, wd, logits);
        lse = new double[rows];
        targetLogits = new double[rows];
        Buf z = Buf.of(logits);
        CrossEntropy.forEachRowBlock(rows, v, parallelRows, (from, to) -> {
            prepareLogitRows(logits, from, to);
            for (int row = from; row < to; row++) {
                if (targets[row] != ignoreIndex) {
                    long base = row * v;
                    lse[row] = CrossEntropy.logSumExp(z, base, v);
                    targetLogits[row] = z.get(base + targets[row]);
                }
            }
        });
        Reference.reachabilityFence(z);
        double total = 0; // in row order, whichever threads computed the rows
        kept = 0;
        for (int row = 0; row < rows; row++) {
            if (targets[row] != ignoreIndex) {
                total += lse[row] - targetLogits[row];
                kept++;
            }
        }
        double loss = kept == 0 ? 0.0 : total / kept;
        x2 = needsGrad(1) ? xm : null;
        w = needsGrad(0) ? wd : null;
        if (!needsGrad(0) && !needsGrad(1)) {
            release();
        }
        return Nd4j.scalar(in[0].dataType(), loss);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        long v = logits.size(1);
        double scale = kept == 0 ? 0.0 : g.getDouble(0) / kept;
        Buf d = Buf.of(logits); // logits in, dL/dlogits out, row by row
        CrossEntropy.forEachRowBlock(targets.length, v, parallelRows, (from, to) -> {
            for (int row = from; row < to; row++) {
                long base = row * v;
                if (targets[row] == ignoreIndex) {
                    CrossEntropy.zeroRow(d, base, v);
                } else {
                    CrossEntropy.softmaxMinusOneHot(d, d, base, v, lse[row], base + targets[row], targetLogits[row],
                            scale);
                }
            }
            finishGradientRows(logits, from, to);
        });
        Reference.reachabilityFence(d);
        INDArray dx = needsGrad(0) ? inputGradient(logits, w).reshape('c', xShape) : null; // [..., C]
        INDArray dw = needsGrad(1) ? weightGradient(logits, x2) : null;                     // [V, C]
        return new INDArray[] {dx, dw};
    }

    /**
     * Computes the logits; fp32 here.
     *
     * @param x [N, C], dense
     * @param w [V, C], dense
     * @param out [N, V], uninitialised, receives x w^T
     */
    protected void logits(INDArray x, INDArray w, INDArray out) {
        // NOTE: the same call as Linear's Gemm.mmul (beta = 0 on an uninitialised C), so the logits
        // are bit-identical to the unfused path's.
        Gemm.gemm(x, false, w, true, out, 1.0, 0.0);
    }

    /**
     * Called on a block of logit rows [fromRow, toRow) right after {@link #logits} and before those rows'
     * max and log-sum-exp are taken (the target logit is read after it too), while the block is in cache;
     * nothing here. A subclass rounds its logits to its working format here instead of in a separate pass.
     *
     * <p>Every row of [0, N) is passed exactly once (ignored rows too), in blocks of one or more consecutive
     * rows (one row of a 32000-word vocabulary, more for small vocabularies). NOTE: blocks
     * run concurrently on several threads: touch only rows [fromRow, toRow) of {@code logits} (and of arrays
     * of the subclass's own, made before the row loop), and take nothing from the calling thread's
     * {@link ScratchPool}.
     *
     * @param logits [N, V], dense C order, as written by {@link #logits}
     * @param fromRow first row of the block
     * @param toRow one past the block's last row
     */
    protected void prepareLogitRows(INDArray logits, long fromRow, long toRow) {
    }

    /**
     * Called on a block of rows [fromRow, toRow) of dL/dlogits right after backward has written them (ignored
     * rows as zeros), before {@link #inputGradient} and {@link #weightGradient} read them; nothing here. A
     * subclass rounds the gradient to its working format here, or copies the rows to a 2-byte array made in
     * its {@code backward} before calling {@code super.backward}.
     *
     * <p>Every row is passed exactly once, in blocks, concurrently on several threads: the same rules as for
     * {@link #prepareLogitRows}.
     *
     * @param dLogits [N, V], dense C order: dL/dlogits = (softmax - onehot) * g / count (the logits buffer,
     *     overwritten)
     * @param fromRow first row of the block
     * @param toRow one past the block's last row
     */
    protected void finishGradientRows(INDArray dLogits, long fromRow, long toRow) {
    }

    /**
     * @param dLogits [N, V], dL/dlogits (called before {@link #weightGradient} when both are needed)
     * @param w [V, C] as given to {@link #logits}
     * @return dL/dx = dLogits w [N, C], a new array
     */
    protected INDArray inputGradient(INDArray dLogits, INDArray w) {
        return Gemm.mmul(dLogits, false, w, false);
    }

    /**
     * @param dLogits [N, V], dL/dlogits
     * @param x [N, C] as given to {@link #logits}
     * @return dL/dw = dLogits^T x [V, C], a new array
     */
    protected INDArray weightGradient(INDArray dLogits, INDArray x) {
        return Gemm.mmul(dLogits, true, x, false);
    }

    /** Subclasses that override this must call {@code super.release()}. */
    @Override
    protected void release() {
        ScratchPool.give(logits);
        logits = null;
        x2 = null;
        w = null;
        lse = null;
        targetLogits = null;
    }
}
