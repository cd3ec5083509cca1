package org.lowbit4j.datasets.synthetic;

import java.util.List;
import java.util.function.Function;

/**
 * Exact-match accuracy: a completion is correct iff its first line (text before the first
 * newline; the whole completion if none) equals the answer exactly. Nothing is trimmed, so a
 * stray space counts as wrong.
 */
public final class ExactMatch {
    /**
     * @param correct examples answered exactly
     * @param total examples scored
     */
    public record Score(int correct, int total) {
        /** @throws IllegalArgumentException unless 0 &lt;= correct &lt;= total */
        public Score {
            if (correct < 0 || correct > total) {
                throw new IllegalArgumentException("need 0 <= correct <= total, got " + correct + " / " + total);
            }
        }

        /** @return correct / total, or 0 for no examples */
        public double accuracy() {
            return total == 0 ? 0 : (double) correct / total;
        }
    }

    private ExactMatch() {
    }

    /**
     * @param example the example
     * @param completion text generated after the prompt
     * @return whether the completion's first line equals the answer
     */
    public static boolean matches(SyntheticExample example, String completion) {
        int nl = completion.indexOf('\n');
        return (nl < 0 ? completion : completion.substring(0, nl)).equals(example.answer());
    }

    /**
     * @param examples examples to score
     * @param complete maps a prompt to the model's completion (e.g. greedy decoding until newline/EOS)
     * @return the score
     */
    public static Score evaluate(List<SyntheticExample> examples, Function<String, String> complete) {
        int ok = 0;
        for (var e : examples) {
            ok += matches(e, complete.apply(e.prompt())) ? 1 : 0;
        }
        return new Score(ok, examples.size());
    }
}
