package org.lowbit4j.datasets.instruct;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;

/**
 * Encoded instruction examples and their batching for fine-tuning. Every batch is a
 * {@link TokenBatch}: inputs {@code [B, T]}, shifted targets {@code [B, T]} with
 * {@link TokenBatch#IGNORE_INDEX} on prompt and padding positions, so only response tokens
 * (and their EOS) are learned.
 *
 * <p>Two batchings, each one epoch in a seeded shuffled order (a private
 * {@link SplittableRandom}; equal seeds give equal epochs):
 * <ul>
 *   <li>{@link #paddedBatches}: one example per row, right-padded to the longest row of the
 *       batch (T = longest L - 1); pad inputs are {@code padId}, pad targets are ignored. With a
 *       causal mask, right padding cannot influence real positions, so no attention mask is
 *       needed.</li>
 *   <li>{@link #packedBatches}: the shuffled examples are concatenated into one stream and cut
 *       into windows of T + 1 tokens with stride T (as for pre-training). A target is learned iff
 *       it is a response token of its example; at a boundary, the target after an example's last
 *       token is the next example's BOS, a prompt token, so it is ignored and no example learns
 *       to predict across examples. Attention still spans boundaries inside a window (no
 *       block-diagonal mask), and an example may continue into the next window without its
 *       earlier context. The final partial window is right-padded as above.</li>
 * </ul>
 */
public final class InstructionDataset {
    /** Default pad input id ({@code <unk>}): any id works, since pad targets are ignored. */
    public static final int DEFAULT_PAD_ID = Tokenizer.UNK;

    private final List<EncodedExample> examples;
    private final int dropped;

    private InstructionDataset(List<EncodedExample> examples, int dropped) {
        this.examples = List.copyOf(examples);
        this.dropped = dropped;
    }

    /**
     * Encodes records with {@link EncodedExample#encode}: truncated to {@code maxLength} tokens;
     * records whose prompt alone fills maxLength (no response token left) are dropped and counted.
     *
     * @param records the records
     * @param tokenizer the vocabulary
     * @param maxLength maximum tokens per example (prompt + response + EOS), &gt;= 2
     * @return the dataset
     * @throws IllegalArgumentException if maxLength &lt; 2 or no record survives
     */
    public static InstructionDataset encode(List<InstructionRecord> records, Tokenizer tokenizer, int maxLength) {
        var out = new ArrayList<EncodedExample>(records.size());
        int dropped = 0;
        for (var r : records) {
            var e = EncodedExample.encode(r, tokenizer, maxLength);
            if (e.isPresent()) {
                out.add(e.get());
            } else {
                dropped++;
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no example has a response token within maxLength " + maxLength + " ("
                    + records.size() + " records, all prompts too long)");
        }
        return new InstructionDataset(out, dropped);
    }

    /**
     * @param examples already encoded examples
     * @return the dataset
     * @throws IllegalArgumentException if the list is empty
     */
    public static InstructionDataset of(List<EncodedExample> examples) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no examples");
        }
        return new InstructionDataset(examples, 0);
    }

    /** @return the examples in input order */
    public List<EncodedExample> examples() {
        return examples;
    }

    /** @return number of examples */
    public int size() {
        return examples.size();
    }

    /** @return records dropped because no response token fit within maxLength */
    public int droppedCount() {
        return dropped;
    }

    /** @return total response tokens (learned targets) over all examples */
    public long learnedTokenCount() {
        return examples.stream().mapToLong(EncodedExample::responseLength).sum();
    }

    /**
     * @param seed shuffle seed
     * @return example indices in this epoch's order (Fisher-Yates with a {@link SplittableRandom})
     */
    public int[] epochOrder(long seed) {
        var order = new int[examples.size()];
        Arrays.setAll(order, i -> i);
        var rng = new SplittableRandom(seed);
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /**
     * One epoch of right-padded batches (the last may have fewer rows).
     *
     * @param batchSize rows per batch B &gt;= 1
     * @param padId input id at padding positions, &gt;= 0
     * @param seed shuffle seed
     * @return the batches, built lazily
     * @throws IllegalArgumentException if batchSize &lt; 1 or padId &lt; 0
     */
    public Iterable<TokenBatch> paddedBatches(int batchSize, int padId, long seed) {
        checkArgs(batchSize, padId);
        int[] order = epochOrder(seed);
        return () -> new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < order.length;
            }

            @Override
            public TokenBatch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException("epoch finished after " + order.length + " examples");
                }
                int rows = Math.min(batchSize, order.length - next);
                int seqLen = 0;
                for (int r = 0; r < rows; r++) {
                    seqLen = Math.max(seqLen, examples.get(order[next + r]).length() - 1);
                }
                var in = new int[rows * seqLen];
                var tg = new int[rows * seqLen];
                Arrays.fill(in, padId);
                Arrays.fill(tg, TokenBatch.IGNORE_INDEX);
                for (int r = 0; r < rows; r++) {
                    var e = examples.get(order[next + r]);
                    System.arraycopy(e.tokens(), 0, in, r * seqLen, e.length() - 1);
                    System.arraycopy(e.shiftedTargets(), 0, tg, r * seqLen, e.length() - 1);
                }
                next += rows;
                return new TokenBatch(rows, seqLen, in, tg);
            }
        };
    }

    /**
     * One epoch of packed batches: windows of {@code seqLen + 1} stream tokens, stride seqLen
     * (the last batch may have fewer rows; the last window is padded).
     *
     * @param batchSize rows per batch B &gt;= 1
     * @param seqLen T &gt;= 1
     * @param padId input id at padding positions, &gt;= 0
     * @param seed shuffle seed
     * @return the batches (the packed stream is built now, each batch lazily)
     * @throws IllegalArgumentException if an argument is out of range
     */
    public Iterable<TokenBatch> packedBatches(int batchSize, int seqLen, int padId, long seed) {
        checkArgs(batchSize, padId);
        if (seqLen < 1) {
            throw new IllegalArgumentException("seqLen must be >= 1, got " + seqLen);
        }
        int[] order = epochOrder(seed);
        long total = 0;
        for (var e : examples) {
            total += e.length();
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("packed stream of " + total + " tokens is too long for one epoch array");
        }
        // Stream of tokens and, aligned with it, the target label each token carries when predicted.
        var stream = new int[(int) total];
        var label = new int[(int) total];
        int pos = 0;
        for (int idx : order) {
            var e = examples.get(idx);
            for (int i = 0; i < e.length(); i++, pos++) {
                stream[pos] = e.tokens()[i];
                label[pos] = e.learned(i) ? e.tokens()[i] : TokenBatch.IGNORE_INDEX;
            }
        }
        int windows = (int) ((total - 1 + seqLen - 1) / seqLen);
        return () -> new Iterator<>() {
            private int w0;

            @Override
            public boolean hasNext() {
                return w0 < windows;
            }

            @Override
            public TokenBatch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException("epoch finished after " + windows + " windows");
                }
                int rows = Math.min(batchSize, windows - w0);
                var in = new int[rows * seqLen];
                var tg = new int[rows * seqLen];
                Arrays.fill(in, padId);
                Arrays.fill(tg, TokenBatch.IGNORE_INDEX);
                for (int r = 0; r < rows; r++) {
                    int start = (w0 + r) * seqLen;
                    int n = Math.min(seqLen, stream.length - 1 - start);
                    System.arraycopy(stream, start, in, r * seqLen, n);
                    System.arraycopy(label, start + 1, tg, r * seqLen, n);
                }
                w0 += rows;
                return new TokenBatch(rows, seqLen, in, tg);
            }
        };
    }

    private static void checkArgs(int batchSize, int padId) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        if (padId < 0) {
            throw new IllegalArgumentException("padId must be >= 0, got " + padId);
        }
    }
}
