package org.lowbit4j.models;

/**
 * Hyper-parameters of a Llama-style decoder, named as in llama2.c.
 *
 * @param dim model width C, &gt; 0
 * @param hiddenDim SwiGLU hidden width, &gt; 0
 * @param nLayers number of transformer blocks, &gt; 0
 * @param nHeads query heads H, &gt; 0, divides dim; head size D = dim / nHeads must be even (RoPE pairs)
 * @param nKvHeads key/value heads K, &gt; 0, divides nHeads (grouped-query attention)
 * @param vocabSize V, &gt; 0
 * @param maxSeqLen the longest sequence (positions 0..maxSeqLen-1), &gt; 0
 * @param normEps RMSNorm epsilon, &gt; 0 (llama2.c: 1e-5)
 * @param ropeTheta RoPE base, &gt; 0 (llama2.c: 10000)
 * @param sharedClassifier whether the output projection is the token embedding table (tied)
 */
public record LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
        int maxSeqLen, double normEps, double ropeTheta, boolean sharedClassifier) {

    /** llama2.c's RMSNorm epsilon. */
    public static final double DEFAULT_NORM_EPS = 1e-5;
    /** llama2.c's RoPE base. */
    public static final double DEFAULT_ROPE_THETA = 10000.0;

    /**
     * @throws IllegalArgumentException naming the first field that is out of range
     */
    public LlamaConfig {
        positive("dim", dim);
        positive("hiddenDim", hiddenDim);
        positive("nLayers", nLayers);
        positive("nHeads", nHeads);
        positive("nKvHeads", nKvHeads);
        positive("vocabSize", vocabSize);
        positive("maxSeqLen", maxSeqLen);
        if (dim % nHeads != 0) {
            throw new IllegalArgumentException("LlamaConfig: dim (" + dim + ") must be divisible by nHeads (" + nHeads + ")");
        }
        if (nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException("LlamaConfig: nHeads (" + nHeads + ") must be divisible by nKvHeads ("
                    + nKvHeads + ")");
        }
        if ((dim / nHeads) % 2 != 0) {
            throw new IllegalArgumentException("LlamaConfig: head size dim/nHeads = " + (dim / nHeads)
                    + " must be even (RoPE rotates pairs)");
        }
        if (!(normEps > 0) || Double.isInfinite(normEps)) {
            throw new IllegalArgumentException("LlamaConfig: normEps must be a positive finite number, got " + normEps);
        }
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException("LlamaConfig: ropeTheta must be a positive finite number, got " + ropeTheta);
        }
    }

    /** A config with llama2.c's defaults: normEps 1e-5, ropeTheta 10000. */
    public LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int maxSeqLen,
            boolean sharedClassifier) {
        this(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen, DEFAULT_NORM_EPS, DEFAULT_ROPE_THETA,
                sharedClassifier);
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException("LlamaConfig: " + field + " must be > 0, got " + value);
        }
    }

    /** @return D = dim / nHeads */
    public int headSize() {
        return dim / nHeads;
    }

    /** @return K * D, the width of the key and value projections */
    public int kvDim() {
        return nKvHeads * headSize();
    }

    /** @return H / K, how many query heads share one key/value head */
    public int kvMul() {
        return nHeads / nKvHeads;
    }

    /** @return the number of scalar parameters (tied classifier counted once) */
    public long parameterCount() {
        long d = dim;
        long perLayer = 2 * d + d * d * 2 + 2 * (long) kvDim() * d + 3 * (long) hiddenDim * d;
        return (long) vocabSize * d * (sharedClassifier ? 1 : 2) + nLayers * perLayer + d;
    }

    /** llama2.c's stories260K: dim 64, hidden 172, 5 layers, 8 heads, 4 kv heads, vocab 512, seq 512, tied. */
    public static LlamaConfig stories260K() {
        return new LlamaConfig(64, 172, 5, 8, 4, 512, 512, true);
    }

    /** llama2.c's stories15M: dim 288, hidden 768, 6 layers, 6 heads, vocab 32000, seq 256, tied. */
    public static LlamaConfig stories15M() {
        return new LlamaConfig(288, 768, 6, 6, 6, 32000, 256, true);
    }

    /** llama2.c's stories110M: dim 768, hidden 2048, 12 layers, 12 heads, vocab 32000, seq 1024, tied. */
    public static LlamaConfig stories110M() {
        return new LlamaConfig(768, 2048, 12, 12, 12, 32000, 1024, true);
    }
}
