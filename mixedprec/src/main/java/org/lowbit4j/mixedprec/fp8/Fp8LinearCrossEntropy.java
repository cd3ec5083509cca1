package org.lowbit4j.mixedprec.fp8;

import java.util.Objects;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.autograd.ops.LinearCrossEntropy;
import org.lowbit4j.autograd.ops.ScratchPool;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An FP8 classifier and its cross-entropy: what {@link Fp8Linear} followed by the fp32 cross-entropy computes, bit for
 * bit, without the [N, V] logits on the tape (the fused primitive's pooled buffer). The input and weight are
 * quantized to the forward format with their metas' scales, dL/dlogits to the backward format (E5M2 under HYBRID)
 * with the gradient meta's; softmax and loss stay fp32.
 *
 * <p>Inputs: x [..., C] FLOAT, w [V, C] FLOAT; targets (constructor) of x's leading shape. Output: a scalar.
 */
public final class Fp8LinearCrossEntropy extends LinearCrossEntropy {
    private final Fp8TensorMeta inputMeta;
    private final Fp8TensorMeta weightMeta;
    private final Fp8TensorMeta gradOutputMeta;
    private final Fp8 forwardFormat;
    private final Fp8 backwardFormat;
    private INDArray inputQ;   // [N, C], pooled
    private INDArray weightQ;  // [V, C], pooled
    private INDArray gradQ;    // [N, V]: the logits buffer itself, fake-quantized in place once for both products

    /**
     * @param metas the classifier weight's scaling states
     * @param format element formats
     * @param targets integer array of x's leading shape
     * @param ignoreIndex target value that contributes nothing
     */
    public Fp8LinearCrossEntropy(Fp8WeightMetas metas, Fp8Format format, INDArray targets, int ignoreIndex) {
        super(targets, ignoreIndex);
        this.inputMeta = Objects.requireNonNull(metas, "metas").input();
        this.weightMeta = metas.weight();
        this.gradOutputMeta = metas.gradOutput();
        this.forwardFormat = format.forwardFormat();
        this.backwardFormat = format.backwardFormat();
    }

    @Override
    protected void logits(INDArray x, INDArray w, INDArray out) {
        inputQ = ScratchPool.take(DataType.FLOAT, x.shape());
        inputMeta.quantizeDequantize(x, forwardFormat, inputQ);
        weightQ = ScratchPool.take(DataType.FLOAT, w.shape());
        weightMeta.quantizeDequantize(w, forwardFormat, weightQ);
        Gemm.gemm(inputQ, false, weightQ, true, out, 1.0, 0.0); // [N, V], fp32 accumulation
    }

    @Override
    protected INDArray inputGradient(INDArray dLogits, INDArray w) {
        return Gemm.mmul(quantizedGradient(dLogits), false, weightQ, false); // [N, C]
    }

    @Override
    protected INDArray weightGradient(INDArray dLogits, INDArray x) {
        return Gemm.mmul(quantizedGradient(dLogits), true, inputQ, false); // [V, C]
    }

    private INDArray quantizedGradient(INDArray dLogits) {
        if (gradQ == null) {
            // NOTE: in place: dL/dlogits lives in the fused op's own pooled logits buffer, read by nothing else
            gradOutputMeta.quantizeDequantize(dLogits, backwardFormat, dLogits);
            gradQ = dLogits;
        }
        return gradQ;
    }

    @Override
    protected void release() {
        super.release();
        ScratchPool.give(inputQ);
        ScratchPool.give(weightQ);
        inputQ = null;
        weightQ = null;
        gradQ = null;
    }
}
