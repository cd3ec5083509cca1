package org.lowbit4j.models;

import java.util.Map;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One-token-at-a-time inference with a key/value cache, computing exactly what llama2.c's
 * {@code run.c} {@code forward()} computes: the same loop orders and the same float32 operations
 * (Java float arithmetic is IEEE binary32 without fused multiply-add, like C compiled without
 * {@code -ffp-contract}; {@code expf}, {@code powf}, {@code cosf}, {@code sinf}, {@code sqrtf} are taken as
 * the correctly rounded float of the double result). This is the exact path for generation.
 *
 * <p>{@link Kernel#VECTOR} swaps the matrix-vector products for a Vector API kernel
 * ({@link MatVec#vector}) that sums in another order: faster, equal to the exact path up to float
 * rounding (tests check the same greedy tokens on the golden prompts), but not bit-identical, so
 * {@link Kernel#EXACT} is the default.
 *
 * <p>The weights are snapshotted into float arrays when the session is created: later training of
 * the model does not affect the session. Not thread-safe: one session per thread.
 */
public final class InferenceSession {
    /** How matrix-vector products are computed. */
    public enum Kernel {
        /** run.c's scalar loop, bit-identical (the default). */
        EXACT,
        /** SIMD partial sums: faster, equal up to rounding. */
        VECTOR
    }

    private final Kernel kernel;
    private final LlamaConfig c;
    private final int dim;
    private final int kvDim;
    private final int kvMul;
    private final int hidden;
    private final int headSize;
    private final int seqLen;
    private final int vocab;
    private final float eps;
    private final float theta;

    // weights, row-major [out, in] per layer
    private final float[] tokEmb;    // [V, C]
    private final float[][] rmsAtt;  // [L][C]
    private final float[][] wq;      // [L][C * C]
    private final float[][] wk;      // [L][KD * C]
    private final float[][] wv;      // [L][KD * C]
    private final float[][] wo;      // [L][C * C]
    private final float[][] rmsFfn;  // [L][C]
    private final float[][] w1;      // [L][Hd * C]
    private final float[][] w2;      // [L][C * Hd]
    private final float[][] w3;      // [L][Hd * C]
    private final float[] rmsFinal;  // [C]
    private final float[] wcls;      // [V, C], the embedding table when shared

    // run state, as run.c's RunState
    private final float[] x;
    private final float[] xb;
    private final float[] xb2;
    private final float[] hb;
    private final float[] hb2;
    private final float[] q;
    private final float[] att;
    private final float[] logits;
    private final float[] keyCache;   // [L, seqLen, KD]
    private final float[] valueCache; // [L, seqLen, KD]
    /** Positions 0..filled-1 hold valid keys and values. */
    private int filled;

    /**
     * Snapshots the model's weights (cast to float32).
     *
     * @throws IllegalArgumentException if a parameter is missing (merge adapters first) or the cache
     *     would exceed 2^31 floats
     */
    public InferenceSession(Llama model) {
        this(model, Kernel.EXACT);
    }

    /**
     * Snapshots the model's weights (cast to float32) for the given kernel.
     *
     * @throws IllegalArgumentException as {@link #InferenceSession(Llama)}
     */
    public InferenceSession(Llama model, Kernel kernel) {
        this.kernel = java.util.Objects.requireNonNull(kernel, "kernel");
        this.c = model.config();
        dim = c.dim();
        kvDim = c.kvDim();
        kvMul = c.kvMul();
        hidden = c.hiddenDim();
        headSize = c.headSize();
        seqLen = c.maxSeqLen();
        vocab = c.vocabSize();
        eps = (float) c.normEps();
        theta = (float) c.ropeTheta();
        long cache = (long) c.nLayers() * seqLen * kvDim;
        if (cache > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("KV cache of " + cache + " floats per table exceeds 2^31 (n_layers="
                    + c.nLayers() + ", seq_len=" + seqLen + ", kv_dim=" + kvDim + ")");
        }
        Map<String, Tensor> p = model.namedParameters();
        int l = c.nLayers();
        tokEmb = floats(p, "tok_embeddings.weight");
        rmsAtt = perLayer(p, l, "attention_norm.weight");
        wq = perLayer(p, l, "attention.wq.weight");
        wk = perLayer(p, l, "attention.wk.weight");
        wv = perLayer(p, l, "attention.wv.weight");
        wo = perLayer(p, l, "attention.wo.weight");
        rmsFfn = perLayer(p, l, "ffn_norm.weight");
        w1 = perLayer(p, l, "feed_forward.w1.weight");
        w2 = perLayer(p, l, "feed_forward.w2.weight");
        w3 = perLayer(p, l, "feed_forward.w3.weight");
        rmsFinal = floats(p, "norm.weight");
        wcls = c.sharedClassifier() ? tokEmb : floats(p, "output.weight");

        x = new float[dim];
        xb = new float[dim];
        xb2 = new float[dim];
        hb = new float[hidden];
        hb2 = new float[hidden];
        q = new float[dim];
        att = new float[c.nHeads() * seqLen];
        logits = new float[vocab];
        keyCache = new float[(int) cache];
        valueCache = new float[(int) cache];
    }

    private static float[][] perLayer(Map<String, Tensor> p, int l, String suffix) {
        float[][] out = new float[l][];
        for (int i = 0; i < l; i++) {
            out[i] = floats(p, "layers." + i + "." + suffix);
        }
        return out;
    }

    private static float[] floats(Map<String, Tensor> p, String name) {
        Tensor t = p.get(name);
        if (t == null) {
            throw new IllegalArgumentException("InferenceSession: model has no parameter '" + name
                    + "' (was a layer replaced? merge adapters first)");
        }
        INDArray v = t.value();
        float[] out = v.castTo(DataType.FLOAT).dup('c').data().asFloat();
        return out.length == v.length() ? out : java.util.Arrays.copyOf(out, (int) v.length());
    }

    /** @return the configuration */
    public LlamaConfig config() {
        return c;
    }

    /**
     * Runs one position, as run.c's {@code forward(transformer, token, pos)}.
     *
     * @param token token id in [0, V)
     * @param pos position in [0, maxSeqLen), at most the number of positions already run (a smaller
     *     value rewinds: positions from {@code pos} on are overwritten)
     * @return the logits [V]; the array is reused and overwritten by the next call
     * @throws IllegalArgumentException for a token or position out of range
     */
    public float[] forward(int token, int pos) {
        if (token < 0 || token >= vocab) {
            throw new IllegalArgumentException("token " + token + " not in [0, " + vocab + ")");
        }
        if (pos < 0 || pos >= seqLen || pos > filled) {
            throw new IllegalArgumentException("position " + pos + " not in [0, " + Math.min(filled, seqLen - 1)
                    + "] (seq_len " + seqLen + ", " + filled + " positions cached)");
        }
        System.arraycopy(tokEmb, token * dim, x, 0, dim);
        for (int l = 0; l < c.nLayers(); l++) {
            rmsnorm(xb, x, rmsAtt[l], dim);
            int loff = l * seqLen * kvDim;
            int kOff = loff + pos * kvDim;
            matmul(q, 0, xb, wq[l], dim, dim);
            matmul(keyCache, kOff, xb, wk[l], dim, kvDim);
            matmul(valueCache, kOff, xb, wv[l], dim, kvDim);

            // RoPE: rotate pairs of q (all of dim) and k (first kv_dim) by the running element index.
            for (int i = 0; i < dim; i += 2) {
                int headDim = i % headSize;
                float freq = 1.0f / powf(theta, headDim / (float) headSize);
                float val = pos * freq;
                float fcr = (float) Math.cos(val);
                float fci = (float) Math.sin(val);
                rotate(q, i, fcr, fci);
                if (i < kvDim) {
                    rotate(keyCache, kOff + i, fcr, fci);
                }
            }

            float scale = (float) Math.sqrt(headSize);
            for (int h = 0; h < c.nHeads(); h++) {
                int qo = h * headSize;
                int ao = h * seqLen;
                int kvHeadOff = (h / kvMul) * headSize;
                for (int t = 0; t <= pos; t++) {
                    int ko = loff + t * kvDim + kvHeadOff;
                    float score = 0.0f;
                    for (int i = 0; i < headSize; i++) {
                        score += q[qo + i] * keyCache[ko + i];
                    }
                    score /= scale;
                    att[ao + t] = score;
                }
                softmax(att, ao, pos + 1);
                java.util.Arrays.fill(xb, qo, qo + headSize, 0.0f);
                for (int t = 0; t <= pos; t++) {
                    int vo = loff + t * kvDim + kvHeadOff;
                    float a = att[ao + t];
                    for (int i = 0; i < headSize; i++) {
                        xb[qo + i] += a * valueCache[vo + i];
                    }
                }
            }
            matmul(xb2, 0, xb, wo[l], dim, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb2[i];
            }

            rmsnorm(xb, x, rmsFfn[l], dim);
            matmul(hb, 0, xb, w1[l], dim, hidden);
            matmul(hb2, 0, xb, w3[l], dim, hidden);
            for (int i = 0; i < hidden; i++) {
                float val = hb[i];
                val *= (1.0f / (1.0f + expf(-val)));
                val *= hb2[i];
                hb[i] = val;
            }
            matmul(xb, 0, hb, w2[l], hidden, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb[i];
            }
        }
        rmsnorm(x, x, rmsFinal, dim);
        matmul(logits, 0, x, wcls, dim, vocab);
        filled = pos + 1;
        return logits;
    }

    private static void rotate(float[] v, int i, float fcr, float fci) {
        float v0 = v[i];
        float v1 = v[i + 1];
        v[i] = v0 * fcr - v1 * fci;
        v[i + 1] = v0 * fci + v1 * fcr;
    }

    /** run.c's rmsnorm: {@code o = w * (x / sqrt(mean(x^2) + eps))}; o may alias x. */
    private void rmsnorm(float[] o, float[] xs, float[] weight, int size) {
        float ss = 0.0f;
        for (int j = 0; j < size; j++) {
            ss += xs[j] * xs[j];
        }
        ss /= size;
        ss += eps;
        ss = 1.0f / (float) Math.sqrt(ss);
        for (int j = 0; j < size; j++) {
            o[j] = weight[j] * (ss * xs[j]);
        }
    }

    /** run.c's softmax over {@code a[off .. off+size)} in place. */
    static void softmax(float[] a, int off, int size) {
        float max = a[off];
        for (int i = 1; i < size; i++) {
            if (a[off + i] > max) {
                max = a[off + i];
            }
        }
        float sum = 0.0f;
        for (int i = 0; i < size; i++) {
            a[off + i] = expf(a[off + i] - max);
            sum += a[off + i];
        }
        for (int i = 0; i < size; i++) {
            a[off + i] /= sum;
        }
    }

    /** run.c's matmul {@code out = W x}, W [d, n]: {@link MatVec#exact} or its SIMD twin. */
    private void matmul(float[] out, int outOff, float[] xs, float[] w, int n, int d) {
        switch (kernel) {
            case EXACT -> MatVec.exact(out, outOff, xs, w, n, d);
            case VECTOR -> MatVec.vector(out, outOff, xs, w, n, d);
        }
    }

    /** @return the matrix-vector kernel in use */
    public Kernel kernel() {
        return kernel;
    }

    // NOTE: C's expf/powf return the float nearest the exact result (glibc's are correctly rounded in
    // practice); rounding the double result of Math.exp/Math.pow agrees except in astronomically
    // rare double-rounding cases.
    static float expf(float v) {
        return (float) Math.exp(v);
    }

    static float powf(float b, float e) {
        return (float) Math.pow(b, e);
    }
}
