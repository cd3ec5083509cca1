package org.lowbit4j.mixedprec;

import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.ops.Bf16CausalAttention;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * BF16 or FP16 autocast, as {@code torch.autocast} does it on a GPU: the operands of linears, matmuls and attention
 * are rounded to the working format, products accumulate in fp32, and the result is rounded to the format again.
 * Each rounding is a {@link RoundToFormat} node, so the gradients flowing back through it are rounded too: the
 * weight gradient reaches the fp32 master weight as a working-format value, and FP16 gradients underflow below
 * 2^-24 unless the loss is scaled ({@link LossScaler}).
 *
 * <p>The working copy of a weight is its rounding at each forward, so it follows the master weight every step.
 *
 * <p>BF16 linears run as one {@link Bf16Linear} op on a BF16 GEMM (AVX512-BF16 / AMX where oneDNN finds them); it
 * gives the same products as the composition (both are exact in fp32) and differs only in summation order. Attention
 * rounds q, k, v and its output; the scores and softmax inside stay fp32 (as in a fused GPU attention kernel); on
 * the BF16 GEMM its products run in bf16 too ({@link Bf16CausalAttention}).
 */
public final class HalfPrecisionPolicy implements Autocast.Policy {
    private final HalfFormat format;
    private final boolean fusedBf16Linear;

    /**
     * @param format the working format
     * @param fusedBf16Linear for BF16, run linears as one {@link Bf16Linear} op on the BF16 GEMM when oneDNN provides
     *     one (true, the default of {@link #of}) or always as rounding nodes around the fp32 GEMM (false, the
     *     reference); ignored for FP16
     */
    public HalfPrecisionPolicy(HalfFormat format, boolean fusedBf16Linear) {
        this.format = java.util.Objects.requireNonNull(format, "format");
        this.fusedBf16Linear = fusedBf16Linear;
    }

    /** @return the policy for a format, with the fused BF16 linear */
    public static HalfPrecisionPolicy of(HalfFormat format) {
        return new HalfPrecisionPolicy(format, true);
    }

    /** @return the working format */
    public HalfFormat format() {
        return format;
    }

    @Override
    public Tensor linear(Tensor x, Tensor w) {
        // NOTE: without oneDNN the BF16 GEMM widens its operands to fp32 first, slower than the composition's fp32
        // GEMM on rounded values; both give the same products.
        if (bf16Gemm()) {
            return new Bf16Linear().apply(x, w);               // [..., out]
        }
        return round(F.linear(round(x), round(w)));            // [..., out]
    }

    /**
     * One {@link HalfLinearCrossEntropy}: the same numbers as {@link #linear} followed by the fp32 cross-entropy, but
     * the logits never reach the tape (as in fp32).
     */
    @Override
    public Tensor linearCrossEntropy(Tensor x, Tensor w, INDArray targets, int ignoreIndex) {
        return new HalfLinearCrossEntropy(format, bf16Gemm(), targets, ignoreIndex).apply(x, w);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        return round(F.matmul(round(a), round(b)));
    }

    /**
     * With the BF16 GEMM and as many key/value heads as query heads: one {@link Bf16CausalAttention} (its products
     * on the BF16 GEMM, P and dS rounded to bf16 as in a fused GPU kernel). Otherwise (FP16, grouped-query heads,
     * no BF16 GEMM) rounding nodes around the fp32 attention.
     */
    @Override
    public Tensor causalAttention(Tensor q, Tensor k, Tensor v) {
        if (bf16Gemm() && java.util.Arrays.equals(q.value().shape(), k.value().shape())) {
            return new Bf16CausalAttention().apply(q, k, v);                   // [B, T, H, D]
        }
        return round(F.causalAttention(round(q), round(k), round(v))); // [B, T, H, D]
    }

    @Override
    public Tensor castActivation(Tensor x) {
        return round(x);
    }

    /** @return whether linears run on the BF16 GEMM: BF16, fused, and oneDNN provides the GEMM */
    private boolean bf16Gemm() {
        return format == HalfFormat.BF16 && fusedBf16Linear && Gemm.bf16Accelerated();
    }

    private Tensor round(Tensor t) {
        return new RoundToFormat(format).apply(t);
    }

    @Override
    public String toString() {
        return format + " autocast" + (bf16Gemm() ? " (linears on the BF16 GEMM: " + Gemm.bf16Backend() + ")" : "");
    }
}
