package org.lowbit4j.datasets.instruct;

import java.util.Optional;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;

/**
 * A tokenized instruction example: {@code tokens = prompt ++ response}, where the first
 * {@code promptLength} tokens (BOS first) are the prompt and are never learned.
 *
 * @param tokens all token ids, length L &gt;= 2
 * @param promptLength number of leading prompt tokens P, 1 &lt;= P &lt; L (at least one response token)
 */
public record EncodedExample(int[] tokens, int promptLength) {
    /** @throws IllegalArgumentException unless 1 &lt;= P &lt; L */
    public EncodedExample {
        if (promptLength < 1 || promptLength >= tokens.length) {
            throw new IllegalArgumentException("need 1 <= promptLength < tokens.length, got promptLength " + promptLength
                    + " of " + tokens.length + " tokens");
        }
    }

    /**
     * Encodes a record: the {@link AlpacaTemplate} prompt as {@code encode(prompt, bos=true,
     * eos=false)} (exactly what run.c does with the same prompt at inference), then the output
     * with EOS and <b>without</b> a dummy-prefix space (it continues the prompt's text). The
     * sequence is cut to its first {@code maxLength} tokens (right truncation: the response's end,
     * EOS included, goes first).
     *
     * @param record the example
     * @param tokenizer the vocabulary
     * @param maxLength maximum tokens, &gt;= 2
     * @return the example, or empty if not one response token fits within maxLength
     * @throws IllegalArgumentException if maxLength &lt; 2
     */
    public static Optional<EncodedExample> encode(InstructionRecord record, Tokenizer tokenizer, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must be >= 2, got " + maxLength);
        }
        int[] prompt = tokenizer.encode(AlpacaTemplate.prompt(record), true, false);
        if (prompt.length >= maxLength) {
            return Optional.empty();
        }
        int[] response = tokenizer.encode(record.output(), false, true, false);
        int len = Math.min(maxLength, prompt.length + response.length);
        var all = new int[len];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        System.arraycopy(response, 0, all, prompt.length, len - prompt.length);
        return Optional.of(new EncodedExample(all, prompt.length));
    }

    /** @return L */
    public int length() {
        return tokens.length;
    }

    /** @return number of response tokens L - P (the learned ones) */
    public int responseLength() {
        return tokens.length - promptLength;
    }

    /**
     * @param i position in [0, L)
     * @return whether token i is learned, i.e. is a response token
     */
    public boolean learned(int i) {
        return i >= promptLength;
    }

    /**
     * Shifted labels for the L - 1 input positions: label t is {@code tokens[t + 1]} when that
     * token is a response token, else {@link TokenBatch#IGNORE_INDEX}. So the first P - 1
     * positions are ignored and positions P - 1 .. L - 2 predict the response.
     *
     * @return labels, length L - 1
     */
    public int[] shiftedTargets() {
        var out = new int[tokens.length - 1];
        for (int t = 0; t < out.length; t++) {
            out[t] = learned(t + 1) ? tokens[t + 1] : TokenBatch.IGNORE_INDEX;
        }
        return out;
    }

    /** @return whether the final token is EOS (false if truncation cut it) */
    public boolean endsWithEos() {
        return tokens[tokens.length - 1] == Tokenizer.EOS;
    }
}
