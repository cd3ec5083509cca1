package org.lowbit4j.datasets;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A batch for next-token prediction: {@code inputs [B, T]} and {@code targets [B, T]}, flat in
 * row-major order ({@code b * T + t}). {@code targets[b, t]} is the token that should follow
 * {@code inputs[b, 0..t]} (targets are already shifted), or {@link #IGNORE_INDEX} where no loss
 * is taken (prompt tokens, padding).
 *
 * @param batchSize B, at least 1
 * @param seqLen T, at least 1
 * @param inputs token ids, length B*T, each &gt;= 0
 * @param targets token ids or {@link #IGNORE_INDEX}, length B*T
 */
public record TokenBatch(int batchSize, int seqLen, int[] inputs, int[] targets) {
    /** Target value that contributes no loss (PyTorch's convention). */
    public static final int IGNORE_INDEX = -100;

    /**
     * @throws IllegalArgumentException if sizes are not positive or the arrays are not B*T long
     */
    public TokenBatch {
        if (batchSize < 1 || seqLen < 1) {
            throw new IllegalArgumentException("batchSize and seqLen must be >= 1, got " + batchSize + " x " + seqLen);
        }
        long n = (long) batchSize * seqLen;
        if (inputs.length != n || targets.length != n) {
            throw new IllegalArgumentException("inputs and targets must hold B*T = " + n + " ids, got "
                    + inputs.length + " and " + targets.length);
        }
    }

    /**
     * @param b row in [0, B)
     * @param t position in [0, T)
     * @return the input token at [b, t]
     */
    public int input(int b, int t) {
        return inputs[index(b, t)];
    }

    /**
     * @param b row in [0, B)
     * @param t position in [0, T)
     * @return the target at [b, t] (a token id or {@link #IGNORE_INDEX})
     */
    public int target(int b, int t) {
        return targets[index(b, t)];
    }

    private int index(int b, int t) {
        if (b < 0 || b >= batchSize || t < 0 || t >= seqLen) {
            throw new IllegalArgumentException("[" + b + ", " + t + "] is outside [" + batchSize + ", " + seqLen + "]");
        }
        return b * seqLen + t;
    }

    /** @return number of targets that are not {@link #IGNORE_INDEX} (the loss's denominator) */
    public int targetCount() {
        int n = 0;
        for (int t : targets) {
            n += t == IGNORE_INDEX ? 0 : 1;
        }
        return n;
    }

    /** @return the inputs as a new INT32 array of shape [B, T] */
    public INDArray inputsArray() {
        return Nd4j.createFromArray(inputs).reshape(batchSize, seqLen);
    }

    /** @return the targets as a new INT32 array of shape [B, T] ({@link #IGNORE_INDEX} kept) */
    public INDArray targetsArray() {
        return Nd4j.createFromArray(targets).reshape(batchSize, seqLen);
    }
}
