package org.lowbit4j.models;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import org.lowbit4j.datasets.Tokenizer;

/**
 * Text generation exactly as llama2.c's {@code run.c} {@code generate()}: the prompt is encoded
 * with BOS and without EOS; {@code steps} counts positions including the prompt; prompt tokens are
 * forced, later tokens sampled; generation stops at BOS (token 1) or after {@code steps}
 * positions; each token's piece is written as it comes (run.c's {@code decode} + {@code safe_printf}
 * rules, raw bytes, so partial UTF-8 sequences pass through as C prints them), then a final
 * {@code "\n"}.
 */
public final class Generator {
    private final InferenceSession session;
    private final Tokenizer tokenizer;
    private final Sampler sampler;

    /**
     * What a generation produced.
     *
     * @param tokensAfterBos the tokens at positions 1, 2, ... (forced prompt tokens, then sampled
     *     ones), excluding a final BOS that stopped generation
     * @param promptTokens number of prompt tokens including BOS
     * @param elapsedNanos wall time from the end of the first position to the end (run.c's timer)
     */
    public record Generation(int[] tokensAfterBos, int promptTokens, long elapsedNanos) {
        /** @throws IllegalArgumentException for negative counts */
        public Generation {
            if (promptTokens < 1 || elapsedNanos < 0) {
                throw new IllegalArgumentException("promptTokens must be >= 1 and elapsedNanos >= 0, got "
                        + promptTokens + ", " + elapsedNanos);
            }
            tokensAfterBos = tokensAfterBos.clone();
        }

        /** @return run.c's "achieved tok/s": (positions - 1) / elapsed, 0 if nothing was timed */
        public double tokensPerSecond() {
            return elapsedNanos == 0 || tokensAfterBos.length < 2 ? 0.0
                    : (tokensAfterBos.length - 1) / (elapsedNanos / 1e9);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Generation g && Arrays.equals(tokensAfterBos, g.tokensAfterBos)
                    && promptTokens == g.promptTokens && elapsedNanos == g.elapsedNanos;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(tokensAfterBos) * 31 + promptTokens;
        }

        @Override
        public String toString() {
            return "Generation[tokensAfterBos=" + Arrays.toString(tokensAfterBos) + ", promptTokens=" + promptTokens
                    + ", elapsedNanos=" + elapsedNanos + "]";
        }
    }

    /**
     * @param session the model (its KV cache is reused from position 0 on each call)
     * @param tokenizer the vocabulary; its size must equal the model's
     * @param sampler how to pick tokens (its RNG advances across calls, as in run.c's chat loop)
     * @throws IllegalArgumentException if the vocabulary sizes differ
     */
    public Generator(InferenceSession session, Tokenizer tokenizer, Sampler sampler) {
        if (tokenizer.vocabSize() != session.config().vocabSize()) {
            throw new IllegalArgumentException("tokenizer has " + tokenizer.vocabSize() + " tokens, model has vocab_size "
                    + session.config().vocabSize());
        }
        this.session = session;
        this.tokenizer = tokenizer;
        this.sampler = sampler;
    }

    /**
     * run.c's clamp: 0 or more than seq_len means seq_len.
     *
     * @param steps requested positions, &ge; 0
     * @return the positions that will run
     * @throws IllegalArgumentException for a negative value
     */
    public static int clampSteps(int steps, int seqLen) {
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0 (0 = seq_len), got " + steps);
        }
        return steps == 0 || steps > seqLen ? seqLen : steps;
    }

    /**
     * Generates and streams text.
     *
     * @param prompt the prompt (null = empty)
     * @param steps positions to run including the prompt; 0 or more than seq_len means seq_len
     * @param out receives the printed bytes, flushed after each piece, and a final newline
     * @return the tokens and timing
     * @throws IOException if writing fails
     * @throws IllegalArgumentException for negative steps
     */
    public Generation generate(String prompt, int steps, OutputStream out) throws IOException {
        int n = clampSteps(steps, session.config().maxSeqLen());
        int[] promptTokens = tokenizer.encode(prompt == null ? "" : prompt, true, false);
        if (promptTokens.length < 1) {
            throw new IllegalStateException("expected at least 1 prompt token (BOS)");
        }
        int[] produced = new int[n];
        int count = 0;
        long start = 0;
        int token = promptTokens[0];
        int pos = 0;
        while (pos < n) {
            float[] logits = session.forward(token, pos);
            int next = pos < promptTokens.length - 1 ? promptTokens[pos + 1] : sampler.sample(logits);
            pos++;
            if (next == Tokenizer.BOS) {
                break;
            }
            writePiece(out, tokenizer.pieceBytes(token, next));
            out.flush();
            produced[count++] = next;
            token = next;
            if (start == 0) {
                start = System.nanoTime();
            }
        }
        out.write('\n');
        out.flush();
        long elapsed = start == 0 ? 0 : System.nanoTime() - start;
        return new Generation(Arrays.copyOf(produced, count), promptTokens.length, elapsed);
    }

    /** run.c's {@code safe_printf(piece)}: skip unprintable single bytes; {@code %s} stops at NUL. */
    private static void writePiece(OutputStream out, byte[] piece) throws IOException {
        if (!Tokenizer.isPrintable(piece)) {
            return;
        }
        int len = 0;
        while (len < piece.length && piece[len] != 0) {
            len++;
        }
        out.write(piece, 0, len);
    }
}
