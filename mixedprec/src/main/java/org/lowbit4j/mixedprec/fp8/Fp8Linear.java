package org.lowbit4j.mixedprec.fp8;

import java.util.Objects;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.autograd.ops.Linear;
import org.lowbit4j.autograd.ops.ScratchPool;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An FP8 linear layer without bias, {@code y = x W^T}, computed as FP8 hardware would, on the CPU: each
 * operand is fake-quantized (scaled, rounded to FP8, scaled back) by its own {@link Fp8TensorMeta}, then
 * multiplied in fp32 (fp32 accumulation, as FP8 tensor cores):
 * <pre>
 *   forward:  x_q = qdq(x; meta_x, E4M3)   W_q = qdq(W; meta_w, E4M3)   y = x_q W_q^T
 *   backward: g_q = qdq(g; meta_g, E5M2 under HYBRID, E4M3 under E4M3)
 *             dx = g_q W_q      dW = g_q^T x_q
 * </pre>
 * The rounding is a straight-through estimator: the backward is exactly the linear backward evaluated
 * on the quantized operands (no gradient of the rounding itself). dx and dW are computed only when
 * {@link #needsGrad(int)} asks, and only what they need is kept: W_q for dx, x_q for dW.
 *
 * <p>Inputs: x [..., in], w [out, in], both FLOAT. Output: [..., out]. Each application records one
 * amax into meta_x and meta_w (forward) and one into meta_g (backward, if it runs).
 */
public final class Fp8Linear extends Function {
    private final Fp8TensorMeta inputMeta;
    private final Fp8TensorMeta weightMeta;
    private final Fp8TensorMeta gradOutputMeta;
    private final Fp8 forwardFormat;
    private final Fp8 backwardFormat;
    private long[] xShape;
    /** x_q [N, in], kept for dW. */
    private INDArray inputQ;
    /** W_q [out, in], kept for dx. */
    private INDArray weightQ;

    /**
     * @param inputMeta scaling state of x
     * @param weightMeta scaling state of W
     * @param gradOutputMeta scaling state of dL/dy
     * @param format element formats ({@link Fp8Format#forwardFormat()}, {@link Fp8Format#backwardFormat()})
     * @throws NullPointerException if an argument is null
     */
    public Fp8Linear(Fp8TensorMeta inputMeta, Fp8TensorMeta weightMeta, Fp8TensorMeta gradOutputMeta,
            Fp8Format format) {
        this.inputMeta = Objects.requireNonNull(inputMeta, "inputMeta");
        this.weightMeta = Objects.requireNonNull(weightMeta, "weightMeta");
        this.gradOutputMeta = Objects.requireNonNull(gradOutputMeta, "gradOutputMeta");
        this.forwardFormat = format.forwardFormat();
        this.backwardFormat = format.backwardFormat();
    }

    /**
     * @throws IllegalArgumentException if w is not 2-D, x does not end in w's in-dimension, or an input
     *     is not FLOAT
     */
    @Override
    protected INDArray forward(INDArray... in) {
        xShape = in[0].shape();
        long[] ws = in[1].shape();
        Linear.checkShapes(name(), xShape, ws);
        long n = in[0].length() / ws[1];
        INDArray x2 = Fp8TensorMeta.denseFloat(name(), in[0]).reshape('c', n, ws[1]); // [N, in]
        INDArray xq = ScratchPool.take(DataType.FLOAT, n, ws[1]); // [N, in]
        inputMeta.quantizeDequantize(x2, forwardFormat, xq);
        INDArray wq = ScratchPool.take(DataType.FLOAT, ws); // [out, in]
        weightMeta.quantizeDequantize(in[1], forwardFormat, wq);
        INDArray out = Gemm.mmul(xq, false, wq, true); // [N, out], fp32 accumulation
        inputQ = needsGrad(1) ? xq : null;
        weightQ = needsGrad(0) ? wq : null;
        if (inputQ == null) {
            ScratchPool.give(xq);
        }
        if (weightQ == null) {
            ScratchPool.give(wq);
        }
        long[] outShape = xShape.clone();
        outShape[outShape.length - 1] = ws[0];
        return out.reshape('c', outShape);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        long out = g.size(g.rank() - 1);
        INDArray g2 = Fp8TensorMeta.denseFloat(name(), g).reshape('c', g.length() / out, out); // [N, out]
        INDArray gq = ScratchPool.take(DataType.FLOAT, g2.shape()); // [N, out]
        gradOutputMeta.quantizeDequantize(g2, backwardFormat, gq);
        INDArray dx = needsGrad(0) ? Gemm.mmul(gq, false, weightQ, false).reshape('c', xShape) : null; // [N, in]
        INDArray dw = needsGrad(1) ? Gemm.mmul(gq, true, inputQ, false) : null; // [out, in]
        ScratchPool.give(gq);
        return new INDArray[] {dx, dw};
    }

    @Override
    protected void release() {
        ScratchPool.give(inputQ);
        ScratchPool.give(weightQ);
        inputQ = null;
        weightQ = null;
    }
}
