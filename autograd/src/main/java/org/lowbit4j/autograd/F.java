package org.lowbit4j.autograd;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The functional API: every differentiable operation of the engine, one static method each.
 * Each call builds one {@link Function} (one class per primitive, in {@code autograd.ops}) and applies
 * it. Broadcasting follows NumPy's rules (shapes aligned from the right; size-1 dimensions stretch).
 *
 * <p>Shapes use B = batch, T = time, C = channels, H = query heads, K = key/value heads,
 * D = head size, V = vocabulary.
 */
public final class F {
    private F() {
    }

    private static UnsupportedOperationException todo(String op) {
        return new UnsupportedOperationException("F." + op + " is not implemented yet");
    }

    // ---- elementwise, broadcasting ----

    /** @return a + b, broadcast */
    public static Tensor add(Tensor a, Tensor b) {
        throw todo("add");
    }

    /** @return a - b, broadcast */
    public static Tensor sub(Tensor a, Tensor b) {
        throw todo("sub");
    }

    /** @return a * b elementwise, broadcast */
    public static Tensor mul(Tensor a, Tensor b) {
        throw todo("mul");
    }

    /** @return a / b elementwise, broadcast */
    public static Tensor div(Tensor a, Tensor b) {
        throw todo("div");
    }

    /** @return a * s for a constant scalar s */
    public static Tensor scale(Tensor a, double s) {
        throw todo("scale");
    }

    /** @return a + s for a constant scalar s */
    public static Tensor addScalar(Tensor a, double s) {
        throw todo("addScalar");
    }

    /** @return e^a */
    public static Tensor exp(Tensor a) {
        throw todo("exp");
    }

    /** @return natural log of a */
    public static Tensor log(Tensor a) {
        throw todo("log");
    }

    /** @return 1 / sqrt(a) */
    public static Tensor rsqrt(Tensor a) {
        throw todo("rsqrt");
    }

    /** @return 1 / (1 + e^-a) */
    public static Tensor sigmoid(Tensor a) {
        throw todo("sigmoid");
    }

    /** @return a * sigmoid(a), composed from {@link #mul} and {@link #sigmoid} */
    public static Tensor silu(Tensor a) {
        throw todo("silu");
    }

    // ---- reductions ----

    /**
     * @param keepDims keep reduced dimensions with size 1
     * @param axes axes to reduce (negative counts from the end); none = all
     * @return the sum over the axes
     */
    public static Tensor sum(Tensor a, boolean keepDims, int... axes) {
        throw todo("sum");
    }

    /** @return the mean over the axes (see {@link #sum}) */
    public static Tensor mean(Tensor a, boolean keepDims, int... axes) {
        throw todo("mean");
    }

    // ---- shape ----

    /** @return a view of a with a new shape of the same length (-1 infers one dimension) */
    public static Tensor reshape(Tensor a, long... shape) {
        throw todo("reshape");
    }

    /** @return a with dimensions d0 and d1 swapped */
    public static Tensor transpose(Tensor a, int d0, int d1) {
        throw todo("transpose");
    }

    /** @return a with dimensions reordered: output dim i is input dim perm[i] */
    public static Tensor permute(Tensor a, int... perm) {
        throw todo("permute");
    }

    /** @return the elements [start, end) along one axis */
    public static Tensor slice(Tensor a, int axis, long start, long end) {
        throw todo("slice");
    }

    /** @return the tensors joined along an axis */
    public static Tensor concat(int axis, Tensor... parts) {
        throw todo("concat");
    }

    // ---- linear algebra ----

    /**
     * Batched matrix product with broadcast batch dimensions.
     *
     * @param a [..., M, N]
     * @param b [..., N, P]
     * @return [..., M, P]
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        throw todo("matmul");
    }

    /**
     * A linear layer without bias: x W^T, with W stored [out, in] as in llama2.c and PyTorch.
     *
     * @param x [..., in]
     * @param w [out, in]
     * @return [..., out]
     */
    public static Tensor linear(Tensor x, Tensor w) {
        throw todo("linear");
    }

    // ---- model primitives ----

    /**
     * Gathers rows of an embedding table; the gradient scatter-adds into the rows.
     *
     * @param weight [V, C]
     * @param indices integer array of any shape S, values in [0, V)
     * @return [S..., C]
     * @throws IllegalArgumentException for an index outside [0, V)
     */
    public static Tensor embedding(Tensor weight, INDArray indices) {
        throw todo("embedding");
    }

    /** @return softmax along an axis (max-subtracted) */
    public static Tensor softmax(Tensor a, int axis) {
        throw todo("softmax");
    }

    /** @return log-softmax along an axis (max-subtracted) */
    public static Tensor logSoftmax(Tensor a, int axis) {
        throw todo("logSoftmax");
    }

    /**
     * RMSNorm over the last axis, composed of primitives: x * rsqrt(mean(x^2) + eps) * weight.
     *
     * @param x [..., C]
     * @param weight [C]
     * @return [..., C]
     */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        throw todo("rmsNorm");
    }

    /**
     * Rotary position embedding in llama2.c's convention: within each head, elements (2i, 2i+1)
     * rotate together by angle pos * theta^(-2i/D).
     *
     * @param x [B, T, H, D], D even
     * @param startPos position of the first time step
     * @return [B, T, H, D]
     */
    public static Tensor rope(Tensor x, long startPos, double theta) {
        throw todo("rope");
    }

    /**
     * Causal scaled-dot-product attention with grouped-query heads: query head h reads key/value
     * head h / (H / K); scores scaled by 1/sqrt(D); position t attends to positions 0..t.
     *
     * @param q [B, T, H, D]
     * @param k [B, T, K, D], H divisible by K
     * @param v [B, T, K, D]
     * @return [B, T, H, D]
     */
    public static Tensor causalAttention(Tensor q, Tensor k, Tensor v) {
        throw todo("causalAttention");
    }

    /**
     * Mean cross-entropy of logits against integer targets, skipping targets equal to ignoreIndex.
     *
     * @param logits [N, V] or [B, T, V]
     * @param targets integer array [N] or [B, T]
     * @param ignoreIndex target value that contributes nothing (e.g. -100)
     * @return a scalar: sum of -log softmax(logits)[target] over kept positions / their count
     *     (0 if none is kept)
     */
    public static Tensor crossEntropy(Tensor logits, INDArray targets, int ignoreIndex) {
        throw todo("crossEntropy");
    }
}
