package org.lowbit4j.datasets.synthetic;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/**
 * A seeded generator of synthetic examples.
 *
 * <p>COPY, REVERSE and SHIFT draw a word of {@code minLetters..maxLetters} letters uniformly from the
 * first {@code alphabetSize} lowercase letters; ADD draws two integers uniformly from
 * {@code 0..maxAddend}. Defaults ({@link #DEFAULT}): 3..6 letters from {@code a..j}, addends up to
 * 99; lines are at most 24 characters.
 *
 * @param minLetters shortest word, &gt;= 1
 * @param maxLetters longest word, &gt;= minLetters, &lt;= 32
 * @param alphabetSize letters used, 1..26
 * @param maxAddend largest addend, 0..9999
 */
public record SyntheticTask(int minLetters, int maxLetters, int alphabetSize, int maxAddend) {
    /** 3..6 letters from a..j, addends 0..99. */
    public static final SyntheticTask DEFAULT = new SyntheticTask(3, 6, 10, 99);
    /** The pre-training mix. */
    public static final List<TaskKind> BASE_TASKS = List.of(TaskKind.COPY, TaskKind.ADD);
    /** The fine-tuning task. */
    public static final List<TaskKind> FINETUNE_TASKS = List.of(TaskKind.REVERSE);

    /** @throws IllegalArgumentException if a parameter is out of range */
    public SyntheticTask {
        if (minLetters < 1 || maxLetters < minLetters || maxLetters > 32) {
            throw new IllegalArgumentException("need 1 <= minLetters <= maxLetters <= 32, got " + minLetters + ".." + maxLetters);
        }
        if (alphabetSize < 1 || alphabetSize > 26) {
            throw new IllegalArgumentException("alphabetSize must be in 1..26, got " + alphabetSize);
        }
        if (maxAddend < 0 || maxAddend > 9999) {
            throw new IllegalArgumentException("maxAddend must be in 0..9999, got " + maxAddend);
        }
    }

    /**
     * @param kinds tasks to draw from (uniformly per example)
     * @param count number of examples, &gt;= 0
     * @param seed RNG seed; equal arguments give equal lists
     * @return the examples
     * @throws IllegalArgumentException if kinds is empty or count &lt; 0
     */
    public List<SyntheticExample> generate(List<TaskKind> kinds, int count, long seed) {
        if (kinds.isEmpty() || count < 0) {
            throw new IllegalArgumentException("need at least one task kind and count >= 0, got " + kinds + ", " + count);
        }
        var rng = new SplittableRandom(seed);
        var out = new ArrayList<SyntheticExample>(count);
        for (int i = 0; i < count; i++) {
            out.add(example(kinds.get(rng.nextInt(kinds.size())), rng));
        }
        return out;
    }

    /**
     * @param kind the task
     * @param rng random source (advanced)
     * @return one example
     */
    public SyntheticExample example(TaskKind kind, SplittableRandom rng) {
        return switch (kind) {
            case COPY -> {
                String w = word(rng);
                yield new SyntheticExample(kind, "copy: " + w + " = ", w);
            }
            case REVERSE -> {
                String w = word(rng);
                yield new SyntheticExample(kind, "rev: " + w + " = ", new StringBuilder(w).reverse().toString());
            }
            case SHIFT -> {
                String w = word(rng);
                var shifted = new StringBuilder(w.length());
                for (int i = 0; i < w.length(); i++) {
                    shifted.append((char) ('a' + (w.charAt(i) - 'a' + 1) % 26));
                }
                yield new SyntheticExample(kind, "shift: " + w + " = ", shifted.toString());
            }
            case ADD -> {
                int a = rng.nextInt(maxAddend + 1);
                int b = rng.nextInt(maxAddend + 1);
                yield new SyntheticExample(kind, "add: " + a + "+" + b + " = ", Integer.toString(a + b));
            }
        };
    }

    private String word(SplittableRandom rng) {
        int len = rng.nextInt(minLetters, maxLetters + 1);
        var sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            sb.append((char) ('a' + rng.nextInt(alphabetSize)));
        }
        return sb.toString();
    }

    /**
     * @param examples examples
     * @return their lines, each ending in a newline (a plain-text corpus)
     */
    public static String corpus(List<SyntheticExample> examples) {
        return examples.stream().map(e -> e.line() + "\n").collect(Collectors.joining());
    }
}
