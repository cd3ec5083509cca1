package org.lowbit4j.models.eval;

import java.util.ArrayList;
import java.util.List;
import org.lowbit4j.autograd.GradMode;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.models.Llama;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Perplexity of a token stream by lowbit4j's protocol:
 * <ol>
 *   <li>the stream is the whole text encoded once, BOS first, no EOS (the caller encodes);</li>
 *   <li>chunks start at positions 0, seq, 2·seq, … while a next token remains;</li>
 *   <li>chunk = tokens [s, min(s + seq, n - 1)], evaluated from an empty context (position 0),
 *       predicting its tokens 1.. from the ones before;</li>
 *   <li>perplexity = exp(total negative log-likelihood / number of predicted tokens).</li>
 * </ol>
 * Every token after the first is predicted exactly once. Log-likelihoods are summed in double.
 */
public final class Perplexity {
    /** Chunks of full length evaluated together in one forward pass. */
    public static final int DEFAULT_BATCH = 8;

    private Perplexity() {
    }

    /**
     * The result of an evaluation.
     *
     * @param perplexity exp(nll / tokens)
     * @param nll total negative log-likelihood in nats
     * @param tokens number of predicted tokens
     * @param chunks number of chunks evaluated
     */
    public record Result(double perplexity, double nll, long tokens, int chunks) {
        /** @throws IllegalArgumentException for negative counts */
        public Result {
            if (tokens < 0 || chunks < 0) {
                throw new IllegalArgumentException("tokens and chunks must be >= 0, got " + tokens + ", " + chunks);
            }
        }

        /** @return mean negative log-likelihood per predicted token (nats) */
        public double meanNll() {
            return tokens == 0 ? Double.NaN : nll / tokens;
        }
    }

    /**
     * @param model the model (any data type; run without gradients)
     * @param tokens the encoded stream, BOS first; at least 2 tokens
     * @param seq chunk length (predicted tokens per chunk), 1..model's maxSeqLen
     * @return the perplexity and counts
     * @throws IllegalArgumentException for a short stream, bad seq, or a token outside the vocabulary
     */
    public static Result evaluate(Llama model, int[] tokens, int seq) {
        return evaluate(model, tokens, seq, DEFAULT_BATCH);
    }

    /**
     * @param batch number of full-length chunks run through the model at once (memory: batch × seq ×
     *     vocab floats of logits)
     * @see #evaluate(Llama, int[], int)
     */
    public static Result evaluate(Llama model, int[] tokens, int seq, int batch) {
        int vocab = model.config().vocabSize();
        if (tokens.length < 2) {
            throw new IllegalArgumentException("perplexity needs at least 2 tokens, got " + tokens.length);
        }
        if (seq < 1 || seq > model.config().maxSeqLen()) {
            throw new IllegalArgumentException("seq must be in [1, " + model.config().maxSeqLen() + "], got " + seq);
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException("token " + i + " is " + tokens[i] + ", outside [0, " + vocab + ")");
            }
        }
        // Chunk starts and lengths (number of predicted tokens).
        List<int[]> full = new ArrayList<>();
        int[] tail = null;
        for (int s = 0; s + 1 < tokens.length; s += seq) {
            int len = Math.min(seq, tokens.length - 1 - s);
            if (len == seq) {
                full.add(new int[] {s, len});
            } else {
                tail = new int[] {s, len};
            }
        }
        double nll = 0;
        long count = 0;
        try (var _ = GradMode.noGrad()) {
            for (int i = 0; i < full.size(); i += batch) {
                List<int[]> group = full.subList(i, Math.min(full.size(), i + batch));
                nll += chunkNll(model, tokens, group, seq);
                count += (long) group.size() * seq;
            }
            if (tail != null) {
                nll += chunkNll(model, tokens, List.of(tail), tail[1]);
                count += tail[1];
            }
        }
        int chunks = full.size() + (tail == null ? 0 : 1);
        return new Result(Math.exp(nll / count), nll, count, chunks);
    }

    /** Sum of -log p(next token) over chunks of equal length {@code len}. */
    private static double chunkNll(Llama model, int[] tokens, List<int[]> chunks, int len) {
        int b = chunks.size();
        int[] in = new int[b * len];
        int[] target = new int[b * len];
        for (int r = 0; r < b; r++) {
            int s = chunks.get(r)[0];
            System.arraycopy(tokens, s, in, r * len, len);
            System.arraycopy(tokens, s + 1, target, r * len, len);
        }
        INDArray inputs = Nd4j.createFromArray(in).reshape(b, len);
        Tensor logits = model.forward(inputs);                       // [b, len, V]
        int vocab = (int) logits.size(-1);
        INDArray flat = logits.value().reshape('c', (long) b * len, vocab);
        float[] row = new float[vocab];
        double nll = 0;
        for (int i = 0; i < b * len; i++) {
            copyRow(flat, i, row);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : row) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : row) {
                sum += Math.exp(v - max);
            }
            // -log softmax(row)[target] = logsumexp(row) - row[target]
            nll += max + Math.log(sum) - row[target[i]];
        }
        return nll;
    }

    private static void copyRow(INDArray flat, int i, float[] row) {
        INDArray r = flat.getRow(i);
        if (r.dataType() == DataType.FLOAT) {
            float[] v = r.toFloatVector();
            System.arraycopy(v, 0, row, 0, row.length);
        } else {
            double[] v = r.toDoubleVector();
            for (int j = 0; j < row.length; j++) {
                row[j] = (float) v[j];
            }
        }
    }
}
