package org.lowbit4j.autograd;

import org.lowbit4j.autograd.ops.Add;
import org.lowbit4j.autograd.ops.AddScalar;
import org.lowbit4j.autograd.ops.CausalAttention;
import org.lowbit4j.autograd.ops.Concat;
import org.lowbit4j.autograd.ops.CrossEntropy;
import org.lowbit4j.autograd.ops.Div;
import org.lowbit4j.autograd.ops.Embedding;
import org.lowbit4j.autograd.ops.Exp;
import org.lowbit4j.autograd.ops.Linear;
import org.lowbit4j.autograd.ops.LinearCrossEntropy;
import org.lowbit4j.autograd.ops.Log;
import org.lowbit4j.autograd.ops.LogSoftmax;
import org.lowbit4j.autograd.ops.MatMul;
import org.lowbit4j.autograd.ops.Mean;
import org.lowbit4j.autograd.ops.Mul;
import org.lowbit4j.autograd.ops.Permute;
import org.lowbit4j.autograd.ops.Reshape;
import org.lowbit4j.autograd.ops.RmsNorm;
import org.lowbit4j.autograd.ops.Rope;
import org.lowbit4j.autograd.ops.Rsqrt;
import org.lowbit4j.autograd.ops.Scale;
import org.lowbit4j.autograd.ops.Sigmoid;
import org.lowbit4j.autograd.ops.Silu;
import org.lowbit4j.autograd.ops.Slice;
import org.lowbit4j.autograd.ops.Softmax;
import org.lowbit4j.autograd.ops.Sub;
import org.lowbit4j.autograd.ops.Sum;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The functional API: every differentiable operation of the engine, one static method each.
 * Each call builds one {@link Function} (one class per primitive, in {@code autograd.ops}) and applies
 * it. Broadcasting follows NumPy's rules (shapes aligned from the right; size-1 dimensions stretch).
 *
 * <p>Inside an {@link Autocast} scope, {@link #linear}, {@link #matmul}, {@link #causalAttention} and
 * {@link #linearCrossEntropy} run in the scope's low-precision policy; everything else is unaffected.
 *
 * <p>Shapes use B = batch, T = time, C = channels, H = query heads, K = key/value heads,
 * D = head size, V = vocabulary.
 */
public final class F {
    private F() {
    }

    // ---- elementwise, broadcasting ----

    /** @return a + b, broadcast */
    public static Tensor add(Tensor a, Tensor b) {
        return new Add().apply(a, b);
    }

    /** @return a - b, broadcast */
    public static Tensor sub(Tensor a, Tensor b) {
        return new Sub().apply(a, b);
    }

    /** @return a * b elementwise, broadcast */
    public static Tensor mul(Tensor a, Tensor b) {
        return new Mul().apply(a, b);
    }

    /** @return a / b elementwise, broadcast */
    public static Tensor div(Tensor a, Tensor b) {
        return new Div().apply(a, b);
    }

    /** @return a * s for a constant scalar s */
    public static Tensor scale(Tensor a, double s) {
        return new Scale(s).apply(a);
    }

    /** @return a + s for a constant scalar s */
    public static Tensor addScalar(Tensor a, double s) {
        return new AddScalar(s).apply(a);
    }

    /** @return e^a */
    public static Tensor exp(Tensor a) {
        return new Exp().apply(a);
    }

    /** @return natural log of a */
    public static Tensor log(Tensor a) {
        return new Log().apply(a);
    }

    /** @return 1 / sqrt(a) */
    public static Tensor rsqrt(Tensor a) {
        return new Rsqrt().apply(a);
    }

    /** @return 1 / (1 + e^-a) */
    public static Tensor sigmoid(Tensor a) {
        return new Sigmoid().apply(a);
    }

    /**
     * @return a * sigmoid(a); runs the fused primitive {@link #siluFused}, tested equal to the
     *     composition {@link #siluComposite} of {@link #mul} and {@link #sigmoid}
     */
    public static Tensor silu(Tensor a) {
        return siluFused(a);
    }

    /** @return a * sigmoid(a), composed from {@link #mul} and {@link #sigmoid} (the reference) */
    public static Tensor siluComposite(Tensor a) {
        return mul(a, sigmoid(a));
    }

    /**
     * @return a * sigmoid(a) as one primitive (one pass each way, saves only a); equal to
     *     {@link #siluComposite} within 1e-12 in DOUBLE
     */
    public static Tensor siluFused(Tensor a) {
        return new Silu().apply(a);
    }

    // ---- reductions ----

    /**
     * @param keepDims keep reduced dimensions with size 1
     * @param axes axes to reduce (negative counts from the end); none = all
     * @return the sum over the axes
     */
    public static Tensor sum(Tensor a, boolean keepDims, int... axes) {
        return new Sum(keepDims, axes).apply(a);
    }

    /** @return the mean over the axes (see {@link #sum}) */
    public static Tensor mean(Tensor a, boolean keepDims, int... axes) {
        return new Mean(keepDims, axes).apply(a);
    }

    // ---- shape ----

    /** @return a view of a with a new shape of the same length (-1 infers one dimension) */
    public static Tensor reshape(Tensor a, long... shape) {
        return new Reshape(shape).apply(a);
    }

    /** @return a with dimensions d0 and d1 swapped */
    public static Tensor transpose(Tensor a, int d0, int d1) {
        return new Permute(Permute.swap(a.rank(), d0, d1)).apply(a);
    }

    /** @return a with dimensions reordered: output dim i is input dim perm[i] */
    public static Tensor permute(Tensor a, int... perm) {
        return new Permute(perm).apply(a);
    }

    /** @return the elements [start, end) along one axis */
    public static Tensor slice(Tensor a, int axis, long start, long end) {
        return new Slice(axis, start, end).apply(a);
    }

    /** @return the tensors joined along an axis */
    public static Tensor concat(int axis, Tensor... parts) {
        return new Concat(axis).apply(parts);
    }

    // ---- linear algebra ----

    /**
     * Batched matrix product with broadcast batch dimensions.
     *
     * @param a [..., M, N]
     * @param b [..., N, P]
     * @return [..., M, P]
     * @throws IllegalArgumentException for a rank below 2, inner sizes that differ, or batch
     *     dimensions that do not broadcast
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        Autocast.Policy p = Autocast.current();
        return p == null ? new MatMul().apply(a, b) : Autocast.dispatch(p, () -> p.matmul(a, b));
    }

    /**
     * A linear layer without bias: x W^T, with W stored [out, in] as in llama2.c and PyTorch.
     *
     * @param x [..., in]
     * @param w [out, in]
     * @return [..., out]
     * @throws IllegalArgumentException if w is not 2-D or x does not end in w's in-dimension
     */
    public static Tensor linear(Tensor x, Tensor w) {
        Autocast.Policy p = Autocast.current();
        return p == null ? new Linear().apply(x, w) : Autocast.dispatch(p, () -> p.linear(x, w));
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
        return new Embedding(indices).apply(weight);
    }

    /** @return softmax along an axis (max-subtracted) */
    public static Tensor softmax(Tensor a, int axis) {
        return new Softmax(axis).apply(a);
    }

    /** @return log-softmax along an axis (max-subtracted) */
    public static Tensor logSoftmax(Tensor a, int axis) {
        return new LogSoftmax(axis).apply(a);
    }

    /**
     * RMSNorm over the last axis: x * rsqrt(mean(x^2) + eps) * weight. Runs the fused primitive
     * {@link #rmsNormFused}, tested equal to the composition {@link #rmsNormComposite}.
     *
     * @param x [..., C]
     * @param weight [C]
     * @return [..., C]
     */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        return rmsNormFused(x, weight, eps);
    }

    /**
     * RMSNorm built from primitives (mul, mean, addScalar, rsqrt), the reference that
     * {@link #rmsNormFused} is tested against.
     *
     * @param x [..., C]
     * @param weight [C]
     * @return [..., C]
     */
    public static Tensor rmsNormComposite(Tensor x, Tensor weight, double eps) {
        Tensor inv = rsqrt(addScalar(mean(mul(x, x), true, -1), eps)); // [..., 1]
        return mul(mul(x, inv), weight);
    }

    /**
     * RMSNorm as one primitive with a hand-written backward (one pass per row; DOUBLE accumulates
     * in double, FLOAT in Vector API lanes); equal to {@link #rmsNormComposite} within 1e-12 in DOUBLE. {@link #rmsNorm} uses it.
     *
     * @param x [..., C]
     * @param weight [C]
     * @return [..., C]
     * @throws IllegalArgumentException if weight is not [C]
     */
    public static Tensor rmsNormFused(Tensor x, Tensor weight, double eps) {
        return new RmsNorm(eps).apply(x, weight);
    }

    /**
     * Rotary position embedding in llama2.c's convention: within each head, elements (2i, 2i+1)
     * rotate together by angle pos * theta^(-2i/D).
     *
     * @param x [B, T, H, D], D even
     * @param startPos position of the first time step
     * @return [B, T, H, D]
     * @throws IllegalArgumentException for a shape other than [B, T, H, D] with D even, a negative
     *     startPos or a non-positive theta
     */
    public static Tensor rope(Tensor x, long startPos, double theta) {
        return new Rope(startPos, theta).apply(x);
    }

    /**
     * Causal scaled-dot-product attention with grouped-query heads: query head h reads key/value
     * head h / (H / K); scores scaled by 1/sqrt(D); position t attends to positions 0..t.
     *
     * @param q [B, T, H, D]
     * @param k [B, T, K, D], H divisible by K
     * @param v [B, T, K, D]
     * @return [B, T, H, D]
     * @throws IllegalArgumentException on mismatched shapes or H not divisible by K
     */
    public static Tensor causalAttention(Tensor q, Tensor k, Tensor v) {
        Autocast.Policy p = Autocast.current();
        return p == null ? new CausalAttention().apply(q, k, v)
                : Autocast.dispatch(p, () -> p.causalAttention(q, k, v));
    }

    /**
     * Mean cross-entropy of logits against integer targets, skipping targets equal to ignoreIndex.
     *
     * @param logits [N, V] or [B, T, V]
     * @param targets integer array [N] or [B, T]
     * @param ignoreIndex target value that contributes nothing (e.g. -100)
     * @return a scalar: sum of -log softmax(logits)[target] over kept positions / their count
     *     (0 if none is kept)
     * @throws IllegalArgumentException if targets are not integers, their shape is not the logits'
     *     leading shape, or a target other than ignoreIndex lies outside [0, V)
     */
    public static Tensor crossEntropy(Tensor logits, INDArray targets, int ignoreIndex) {
        return new CrossEntropy(targets, ignoreIndex).apply(logits);
    }

    /**
     * A classifier and its mean cross-entropy in one primitive: {@code crossEntropy(linear(x, w),
     * targets, ignoreIndex)} with the same value and gradients bit for bit, but the logits [N, V]
     * never reach the tape (one pooled buffer, overwritten by their gradient in backward). Inside an
     * {@link Autocast} scope the policy's {@link Autocast.Policy#linearCrossEntropy} runs instead (by
     * default that composition, with the policy's {@link #linear}).
     *
     * @param x [N, C] or [B, T, C]
     * @param w classifier weight [V, C]
     * @param targets integer array [N] or [B, T] (x's leading shape)
     * @param ignoreIndex target value that contributes nothing (e.g. -100)
     * @return a scalar: mean -log softmax(x w^T)[target] over kept positions (0 if none is kept)
     * @throws IllegalArgumentException as for {@link #linear} and {@link #crossEntropy}
     */
    public static Tensor linearCrossEntropy(Tensor x, Tensor w, INDArray targets, int ignoreIndex) {
        Autocast.Policy p = Autocast.current();
        return p == null ? new LinearCrossEntropy(targets, ignoreIndex).apply(x, w)
                : Autocast.dispatch(p, () -> p.linearCrossEntropy(x, w, targets, ignoreIndex));
    }
}
