package org.lowbit4j.models;

import java.util.Arrays;

/**
 * Picks the next token from logits exactly as llama2.c's {@code run.c} sampler: temperature 0 is
 * greedy argmax (first maximum); otherwise logits are divided by the temperature, softmaxed, and a
 * coin from the xorshift64* generator selects a token by inverse CDF, restricted to the top-p
 * nucleus when {@code 0 < topp < 1}. The same seed gives the same tokens as {@code run.c -s seed}.
 */
public final class Sampler {
    private final int vocabSize;
    private final float temperature;
    private final float topp;
    private long state;
    private final float[] probs;
    private final int[] order;
    private final Integer[] boxed;

    /**
     * @param vocabSize V, &gt; 0
     * @param temperature &ge; 0 (0 = greedy)
     * @param topp nucleus mass; applied only if strictly between 0 and 1 (run.c's default is 0.9)
     * @param seed initial xorshift state (run.c's {@code -s}; note that run.c replaces 0 by the time)
     * @throws IllegalArgumentException for a bad vocabulary size, temperature or top-p
     */
    public Sampler(int vocabSize, float temperature, float topp, long seed) {
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize must be > 0, got " + vocabSize);
        }
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
        }
        if (Float.isNaN(topp)) {
            throw new IllegalArgumentException("topp must be a number, got NaN");
        }
        this.vocabSize = vocabSize;
        this.temperature = temperature;
        this.topp = topp;
        this.state = seed;
        this.probs = new float[vocabSize];
        this.order = new int[vocabSize];
        this.boxed = new Integer[vocabSize];
    }

    /** @return a greedy sampler */
    public static Sampler greedy(int vocabSize) {
        return new Sampler(vocabSize, 0f, 0.9f, 1L);
    }

    /** run.c's {@code random_u32}: xorshift64* returning the high 32 bits (as an unsigned value). */
    long randomU32() {
        state ^= state >>> 12;
        state ^= state << 25;
        state ^= state >>> 27;
        return (state * 0x2545F4914F6CDD1DL) >>> 32;
    }

    /** run.c's {@code random_f32}: a float in [0, 1) with 24 random bits. */
    float randomF32() {
        return (randomU32() >>> 8) / 16777216.0f;
    }

    /**
     * @param logits [V]; not modified (run.c modifies its buffer; we work on a copy)
     * @return the chosen token id
     * @throws IllegalArgumentException if the length is not V
     */
    public int sample(float[] logits) {
        if (logits.length != vocabSize) {
            throw new IllegalArgumentException("expected " + vocabSize + " logits, got " + logits.length);
        }
        if (temperature == 0.0f) {
            return argmax(logits);
        }
        for (int i = 0; i < vocabSize; i++) {
            probs[i] = logits[i] / temperature;
        }
        InferenceSession.softmax(probs, 0, vocabSize);
        float coin = randomF32();
        if (topp <= 0 || topp >= 1) {
            return sampleMult(probs, coin);
        }
        return sampleTopp(probs, coin);
    }

    /** First index of the maximum. */
    static int argmax(float[] p) {
        int maxI = 0;
        float maxP = p[0];
        for (int i = 1; i < p.length; i++) {
            if (p[i] > maxP) {
                maxI = i;
                maxP = p[i];
            }
        }
        return maxI;
    }

    static int sampleMult(float[] p, float coin) {
        float cdf = 0.0f;
        for (int i = 0; i < p.length; i++) {
            cdf += p[i];
            if (coin < cdf) {
                return i;
            }
        }
        return p.length - 1;
    }

    private int sampleTopp(float[] p, float coin) {
        int n = p.length;
        if (n == 1) {
            return 0;
        }
        int n0 = 0;
        // Tokens below the cutoff cannot be in the nucleus; run.c drops them before sorting.
        final float cutoff = (1.0f - topp) / (n - 1);
        for (int i = 0; i < n; i++) {
            if (p[i] >= cutoff) {
                boxed[n0++] = i;
            }
        }
        // NOTE: run.c uses qsort (descending probability), whose order for equal probabilities is
        // unspecified; glibc's merge sort keeps ascending index order, and so does this stable sort.
        Arrays.sort(boxed, 0, n0, (a, b) -> p[a] > p[b] ? -1 : p[a] < p[b] ? 1 : 0);
        for (int i = 0; i < n0; i++) {
            order[i] = boxed[i];
        }
        float cumulative = 0.0f;
        int lastIdx = n0 - 1;
        for (int i = 0; i < n0; i++) {
            cumulative += p[order[i]];
            if (cumulative > topp) {
                lastIdx = i;
                break;
            }
        }
        float r = coin * cumulative;
        float cdf = 0.0f;
        for (int i = 0; i <= lastIdx; i++) {
            cdf += p[order[i]];
            if (r < cdf) {
                return order[i];
            }
        }
        return order[lastIdx];
    }
}
