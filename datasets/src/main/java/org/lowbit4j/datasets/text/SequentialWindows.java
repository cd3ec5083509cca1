package org.lowbit4j.datasets.text;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.lowbit4j.datasets.TokenBatch;

/**
 * Non-overlapping windows for evaluation: window k covers tokens {@code [kT, kT + T]}
 * (T + 1 tokens, consecutive windows share one boundary token), so every token after the first
 * is a target exactly once. The final partial window (fewer than T + 1 tokens left, i.e. at most
 * T targets) is dropped so every batch is {@code [rows, T]}; the last batch may have fewer than
 * B rows. Iterable many times, always in the same order.
 */
public final class SequentialWindows implements Iterable<TokenBatch> {
    private final int[] tokens;
    private final int batchSize;
    private final int seqLen;
    private final int windows;

    /**
     * @param tokens the token stream (not copied, not modified)
     * @param source name for error messages
     * @param batchSize B
     * @param seqLen T
     * @throws IllegalArgumentException if B or T is below 1, or tokens has fewer than T + 1 ids
     */
    public SequentialWindows(int[] tokens, String source, int batchSize, int seqLen) {
        TextDataset.checkWindow(tokens.length, source, batchSize, seqLen);
        this.tokens = tokens;
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        this.windows = (tokens.length - 1) / seqLen;
    }

    /** @return number of windows (rows over all batches) */
    public int windowCount() {
        return windows;
    }

    /** @return number of targets over all batches: windowCount * T */
    public long targetCount() {
        return (long) windows * seqLen;
    }

    @Override
    public Iterator<TokenBatch> iterator() {
        return new Iterator<>() {
            private int window;

            @Override
            public boolean hasNext() {
                return window < windows;
            }

            @Override
            public TokenBatch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException("no more validation windows (" + windows + " in all)");
                }
                int rows = Math.min(batchSize, windows - window);
                var in = new int[rows * seqLen];
                var tg = new int[rows * seqLen];
                for (int r = 0; r < rows; r++, window++) {
                    int start = window * seqLen;
                    System.arraycopy(tokens, start, in, r * seqLen, seqLen);
                    System.arraycopy(tokens, start + 1, tg, r * seqLen, seqLen);
                }
                return new TokenBatch(rows, seqLen, in, tg);
            }
        };
    }
}
