package org.lowbit4j.autograd.ops;

import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Mean cross-entropy of logits against integer targets, fused: one pass per row computes the
 * max-subtracted log-sum-exp and the NLL of the target. Rows whose target equals ignoreIndex
 * contribute nothing; the mean is over kept rows (0 if none). Backward:
 * (softmax - onehot(target)) * g / count, zero rows where ignored.
 *
 * <p>The rows run on all cores in blocks of consecutive rows ({@link #forEachRowBlock}); each row's numbers are
 * those of a serial loop and the loss is summed in row order, so the results are the same bits for any thread count.
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
    private final boolean parallelRows;

    /**
     * @param targets integer array [N] or [B, T]
     * @param ignoreIndex target value to skip (e.g. -100)
     * @throws IllegalArgumentException if targets are not integers
     */
    public CrossEntropy(INDArray targets, int ignoreIndex) {
        this(targets, ignoreIndex, true);
    }

    /**
     * @param parallelRows false to run the row loops on the calling thread only (the same bits; for tests)
     * @throws IllegalArgumentException if targets are not integers
     */
    CrossEntropy(INDArray targets, int ignoreIndex, boolean parallelRows) {
        this.parallelRows = parallelRows;
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
        checkTargets(name(), targets, ignoreIndex, v);
        logits = Shapes.dense(in[0]);
        lse = new double[rows];
        Buf x = Buf.of(logits);
        forEachRowBlock(rows, v, parallelRows, (from, to) -> {
            for (int row = from; row < to; row++) {
                if (targets[row] != ignoreIndex) {
                    lse[row] = logSumExp(x, row * v, v);
                }
            }
        });
        double total = 0; // in row order, whichever threads computed the rows
        kept = 0;
        for (int row = 0; row < rows; row++) {
            if (targets[row] != ignoreIndex) {
                total += lse[row] - x.get(row * v + targets[row]);
                kept++;
            }
        }
        Reference.reachabilityFence(x);
        double loss = kept == 0 ? 0.0 : total / kept;
        return Nd4j.scalar(in[0].dataType(), loss);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        // NOTE: uninitialised: every element is written below (kept rows by the softmax, ignored rows
        // by zeros); zero-filling first would cost a full extra pass over [N, V] (262 MB for stories15M).
        INDArray dx = Nd4j.createUninitialized(logits.dataType(), logits.shape(), 'c');
        long v = logits.size(logits.rank() - 1);
        double scale = kept == 0 ? 0.0 : g.getDouble(0) / kept;
        Buf x = Buf.of(logits);
        Buf d = Buf.of(dx);
        forEachRowBlock(targets.length, v, parallelRows, (from, to) -> {
            for (int row = from; row < to; row++) {
                long base = row * v;
                if (targets[row] == ignoreIndex) {
                    zeroRow(d, base, v);
                } else {
                    double targetLogit = x.get(base + targets[row]);
                    softmaxMinusOneHot(x, d, base, v, lse[row], base + targets[row], targetLogit, scale);
                }
            }
        });
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(d);
        return new INDArray[] {dx};
    }

    /** The work on rows [fromRow, toRow) of a row loop. */
    @FunctionalInterface
    interface RowBlock {
        void run(int fromRow, int toRow);
    }

    /**
     * Elements per row block (128 KB of floats): a block is small enough to stay in L2 between the passes
     * made over it (a hook, the max, the exponentials), and one row of a 32000-word vocabulary is a block.
     */
    static final long BLOCK_ELEMENTS = 1 << 15;
    /** Below this many elements in all, rows run on the calling thread: handing work over costs more. */
    static final long PARALLEL_MIN_ELEMENTS = 1 << 17;

    private static final int CORES = Runtime.getRuntime().availableProcessors();

    /**
     * Runs {@code body} over [0, rows) in consecutive blocks of max(1, {@link #BLOCK_ELEMENTS} / v) rows: on all
     * cores ({@link Gemm#forEachParallel}) when {@code parallel} and the rows hold at least
     * {@link #PARALLEL_MIN_ELEMENTS} elements, else in order on the calling thread. Each block must write only its
     * own rows; then the results do not depend on which thread ran which block.
     *
     * <p>NOTE: the threads claim blocks one at a time from a shared counter rather than taking fixed ranges: on a
     * shared machine a thread that loses its core then delays the loop by about one block, not by a whole range.
     *
     * @param rows the number of rows
     * @param v the row length in elements
     * @param parallel false to run every block on the calling thread, in order
     * @param body the work on one block
     * @throws RuntimeException whatever body throws (on several threads: once the other threads have stopped)
     */
    static void forEachRowBlock(int rows, long v, boolean parallel, RowBlock body) {
        int perBlock = (int) Math.max(1, BLOCK_ELEMENTS / Math.max(1, v));
        long blocks = ((long) rows + perBlock - 1) / perBlock;
        if (parallel && rows * v >= PARALLEL_MIN_ELEMENTS && blocks > 1 && CORES > 1) {
            AtomicLong next = new AtomicLong();
            Gemm.forEachParallel(Math.min(CORES, blocks), thread -> {
                for (long b = next.getAndIncrement(); b < blocks; b = next.getAndIncrement()) {
                    int from = (int) (b * perBlock);
                    body.run(from, (int) Math.min(rows, from + (long) perBlock));
                }
            });
        } else {
            for (long from = 0; from < rows; from += perBlock) {
                body.run((int) from, (int) Math.min(rows, from + perBlock));
            }
        }
    }

    /**
     * @throws IllegalArgumentException naming the op and flat position of a target outside [0, v) that is not
     *     ignoreIndex
     */
    static void checkTargets(String op, long[] targets, int ignoreIndex, long v) {
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] != ignoreIndex && (targets[i] < 0 || targets[i] >= v)) {
                throw new IllegalArgumentException(op + ": target " + targets[i] + " at flat position " + i
                        + " is outside [0, " + v + ") and is not ignoreIndex " + ignoreIndex);
            }
        }
    }

    /**
     * @return log sum_j e^(x[base + j]) over one row of v logits (max-subtracted; float rows through
     *     the vector kernels with a float max and a double sum)
     */
    static double logSumExp(Buf x, long base, long v) {
        if (x.isDouble()) {
            double max = Double.NEGATIVE_INFINITY;
            for (long j = 0; j < v; j++) {
                max = Math.max(max, x.get(base + j));
            }
            double sum = 0;
            for (long j = 0; j < v; j++) {
                sum += Math.exp(x.get(base + j) - max);
            }
            return max + Math.log(sum);
        }
        float max = Kernels.max(x.segment(), base, v);
        return max + Math.log(Kernels.expShift(x.segment(), base, null, 0, v, max, false));
    }

    /**
     * Writes one row of the gradient, d[base + j] = (softmax_j - onehot_j) * scale, from logits x
     * whose log-sum-exp is lse. x and d may be the same buffer (in place): the target's logit is
     * passed separately because the row is overwritten before the target element is fixed.
     *
     * @param target flat index of the target element (inside the row)
     * @param targetLogit x[target] as it was before any overwrite
     */
    static void softmaxMinusOneHot(Buf x, Buf d, long base, long v, double lse, long target, double targetLogit,
            double scale) {
        if (x.isDouble()) {
            for (long j = 0; j < v; j++) {
                d.set(base + j, Math.exp(x.get(base + j) - lse) * scale);
            }
        } else {
            Kernels.expShiftScale(x.segment(), base, d.segment(), base, v, (float) lse, (float) scale);
        }
        d.set(target, (Math.exp(targetLogit - lse) - 1.0) * scale);
    }

    /** d[base, base + v) = 0. */
    static void zeroRow(Buf d, long base, long v) {
        long w = d.isDouble() ? 8 : 4;
        d.segment().asSlice(base * w, v * w).fill((byte) 0);
    }

    @Override
    protected void release() {
        logits = null;
        lse = null;
    }
}
