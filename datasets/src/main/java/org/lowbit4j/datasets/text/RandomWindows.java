package org.lowbit4j.datasets.text;

import java.util.Iterator;
import java.util.SplittableRandom;
import org.lowbit4j.datasets.TokenBatch;

/**
 * An endless, deterministic stream of training batches: each row is a window of T + 1
 * consecutive tokens starting at a uniformly random offset in [0, n - T - 1], giving inputs
 * {@code w[0..T-1]} and targets {@code w[1..T]}. Rows are drawn independently (with
 * replacement), from a private {@link SplittableRandom} seeded at construction.
 */
public final class RandomWindows implements Iterator<TokenBatch> {
    private final int[] tokens;
    private final int batchSize;
    private final int seqLen;
    private final SplittableRandom rng;

    /**
     * @param tokens the token stream (not copied, not modified)
     * @param source name for error messages
     * @param batchSize B
     * @param seqLen T
     * @param seed RNG seed
     * @throws IllegalArgumentException if B or T is below 1, or tokens has fewer than T + 1 ids
     */
    public RandomWindows(int[] tokens, String source, int batchSize, int seqLen, long seed) {
        TextDataset.checkWindow(tokens.length, source, batchSize, seqLen);
        this.tokens = tokens;
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        this.rng = new SplittableRandom(seed);
    }

    /** @return always true: the stream is endless */
    @Override
    public boolean hasNext() {
        return true;
    }

    /** @return the next batch, inputs and targets of shape [B, T] */
    @Override
    public TokenBatch next() {
        var in = new int[batchSize * seqLen];
        var tg = new int[batchSize * seqLen];
        int maxStart = tokens.length - seqLen - 1;
        for (int b = 0; b < batchSize; b++) {
            int start = rng.nextInt(maxStart + 1);
            System.arraycopy(tokens, start, in, b * seqLen, seqLen);
            System.arraycopy(tokens, start + 1, tg, b * seqLen, seqLen);
        }
        return new TokenBatch(batchSize, seqLen, in, tg);
    }
}
