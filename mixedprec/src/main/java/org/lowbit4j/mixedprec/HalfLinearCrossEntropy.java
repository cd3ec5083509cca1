package org.lowbit4j.mixedprec;

import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.ops.LinearCrossEntropy;
import org.lowbit4j.autograd.ops.ScratchPool;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The classifier and its cross-entropy with the classifier in a 16-bit working format: what the policy's rounded
 * linear followed by the fp32 cross-entropy computes, bit for bit, without the [N, V] logits on the tape (the fused
 * primitive's pooled buffer, rounded in place). Softmax and loss stay fp32; dL/dlogits is rounded to the format in
 * place, and dx, dW are rounded too.
 *
 * <p>With {@code bf16Gemm} the products run on the BF16 GEMM on 2-byte copies (as {@link Bf16Linear}); otherwise on
 * the fp32 GEMM on rounded fp32 copies (as {@link RoundToFormat} around a linear). Operand copies come from
 * {@link ScratchPool} and go back at release.
 *
 * <p>Inputs: x [..., C] FLOAT, w [V, C] FLOAT; targets (constructor) of x's leading shape. Output: a scalar.
 */
public final class HalfLinearCrossEntropy extends LinearCrossEntropy {
    private final HalfFormat format;
    private final boolean bf16Gemm;
    private INDArray xr;   // [N, C] x in the format (BFLOAT16 array, or FLOAT holding rounded values)
    private INDArray wr;   // [V, C] w likewise
    private INDArray gr;   // [N, V] dL/dlogits for the BF16 GEMM (BFLOAT16); null on the fp32 route
    private boolean gradientRounded;

    /**
     * @param format the working format
     * @param bf16Gemm run the products on {@link Gemm#gemmBf16} (BF16 only)
     * @param targets integer array of x's leading shape
     * @param ignoreIndex target value that contributes nothing
     * @throws IllegalArgumentException if bf16Gemm is asked for FP16
     */
    public HalfLinearCrossEntropy(HalfFormat format, boolean bf16Gemm, INDArray targets, int ignoreIndex) {
        super(targets, ignoreIndex);
        if (bf16Gemm && format != HalfFormat.BF16) {
            throw new IllegalArgumentException("the BF16 GEMM route needs the BF16 format, got " + format);
        }
        this.format = format;
        this.bf16Gemm = bf16Gemm;
    }

    @Override
    protected void logits(INDArray x, INDArray w, INDArray out) {
        xr = rounded(x);
        wr = rounded(w);
        product(xr, false, wr, true, out); // [N, V]
    }

    @Override
    protected INDArray inputGradient(INDArray dLogits, INDArray w) {
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, new long[] {dLogits.size(0), wr.size(1)}, 'c'); // [N, C]
        product(roundedGradient(dLogits), false, wr, false, dx);
        return dx;
    }

    @Override
    protected INDArray weightGradient(INDArray dLogits, INDArray x) {
        INDArray dw = Nd4j.createUninitialized(DataType.FLOAT, new long[] {dLogits.size(1), xr.size(1)}, 'c'); // [V, C]
        product(roundedGradient(dLogits), true, xr, false, dw);
        return dw;
    }

    /** out = op(a) op(b) on this route's GEMM, then rounded to the format. */
    private void product(INDArray a, boolean transA, INDArray b, boolean transB, INDArray out) {
        if (bf16Gemm) {
            Gemm.gemmBf16(a, transA, b, transB, out, 1f, 0f);
        } else {
            Gemm.gemm(a, transA, b, transB, out, 1.0, 0.0);
        }
        format.roundInPlace(out);
    }

    private INDArray rounded(INDArray x) {
        if (bf16Gemm) {
            return Bf16Linear.bf16Copy(x);
        }
        INDArray r = ScratchPool.take(DataType.FLOAT, x.shape());
        r.assign(x);
        format.roundInPlace(r);
        return r;
    }

    /** dL/dlogits rounded to the format once (in place: the buffer is this op's own), for both products. */
    private INDArray roundedGradient(INDArray dLogits) {
        if (!gradientRounded) {
            gradientRounded = true;
            if (bf16Gemm) {
                gr = Bf16Linear.bf16Copy(dLogits);
            } else {
                format.roundInPlace(dLogits);
            }
        }
        return bf16Gemm ? gr : dLogits;
    }

    @Override
    protected void release() {
        super.release();
        ScratchPool.give(xr);
        ScratchPool.give(wr);
        ScratchPool.give(gr);
        xr = null;
        wr = null;
        gr = null;
    }
}
