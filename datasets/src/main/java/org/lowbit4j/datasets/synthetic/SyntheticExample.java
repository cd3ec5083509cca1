package org.lowbit4j.datasets.synthetic;

import java.util.Objects;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.datasets.instruct.EncodedExample;

/**
 * One line of a synthetic task.
 *
 * @param kind the task
 * @param prompt the line up to and including {@code "= "}, e.g. {@code "rev: abc = "}
 * @param answer the expected completion, e.g. {@code "cba"} (no newline)
 */
public record SyntheticExample(TaskKind kind, String prompt, String answer) {
    /** @throws IllegalArgumentException if the prompt does not end in "= " or the answer has a newline */
    public SyntheticExample {
        Objects.requireNonNull(kind, "kind");
        if (!prompt.endsWith("= ") || answer.isEmpty() || answer.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("prompt must end in \"= \" and answer be one non-empty line, got \""
                    + prompt + "\" / \"" + answer + "\"");
        }
    }

    /** @return the whole line without its newline, e.g. {@code "rev: abc = cba"} */
    public String line() {
        return prompt + answer;
    }

    /**
     * Tokens for training: {@code encode(prompt, bos=true, eos=false)} (exactly what a run.c-style
     * generate does with this prompt) as the prompt part, then {@code answer + "\n"} without a
     * dummy prefix, then EOS, as the learned part.
     *
     * @param tokenizer e.g. {@link SyntheticVocabulary#tokenizer()}
     * @return the example
     */
    public EncodedExample encode(Tokenizer tokenizer) {
        int[] p = tokenizer.encode(prompt, true, false);
        int[] a = tokenizer.encode(answer + "\n", false, true, false);
        var all = new int[p.length + a.length];
        System.arraycopy(p, 0, all, 0, p.length);
        System.arraycopy(a, 0, all, p.length, a.length);
        return new EncodedExample(all, p.length);
    }
}
