package org.lowbit4j.mixedprec;

import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Bf16Arrays;
import org.lowbit4j.autograd.ops.Linear;
import org.lowbit4j.autograd.ops.ScratchPool;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A BF16 linear layer x W^T on a real BF16 GEMM ({@link Gemm#gemmBf16}: AVX512-BF16 or AMX through oneDNN where
 * available, else widened to fp32 with the same products). Forward: x and W are rounded to bf16 (2-byte arrays), the
 * product accumulates in fp32 and is rounded to bf16. Backward: the incoming gradient is rounded to bf16, dx = g W and
 * dW = g^T x run on the same GEMM and are rounded to bf16; the engine accumulates dW into the fp32 master gradient.
 *
 * <p>It computes what the composition round(linear(round(x), round(W))) of {@link HalfPrecisionPolicy} computes
 * (every bf16 x bf16 product is exact in fp32); only the order of the fp32 sums may differ.
 *
 * <p>Inputs: x [..., in] FLOAT, w [out, in] FLOAT. Output: [..., out] FLOAT holding bf16 values.
 */
public final class Bf16Linear extends Function {
    private long[] xShape;
    private INDArray xb;   // [N, in] bf16, for dW (pooled)
    private INDArray wb;   // [out, in] bf16, for dx (pooled)

    @Override
    protected INDArray forward(INDArray... in) {
        xShape = in[0].shape();
        long[] ws = in[1].shape();
        Linear.checkShapes(name(), xShape, ws);
        if (in[0].dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException(name() + ": expected FLOAT operands, got " + in[0].dataType());
        }
        long n = in[0].length() / ws[1];
        INDArray x16 = bf16Copy(in[0]).reshape('c', n, ws[1]);                     // [N, in]
        INDArray w16 = bf16Copy(in[1]);                                             // [out, in]
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, new long[] {n, ws[0]}, 'c'); // [N, out]
        Gemm.gemmBf16(x16, false, w16, true, y, 1f, 0f);
        HalfFormat.BF16.roundInPlace(y);
        xb = x16;
        wb = w16;
        if (!needsGrad(0) && !needsGrad(1)) {
            release();
        }
        long[] outShape = xShape.clone();
        outShape[outShape.length - 1] = ws[0];
        return y.reshape('c', outShape);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        long out = g.size(g.rank() - 1);
        INDArray g16 = bf16Copy(g).reshape('c', g.length() / out, out);            // [N, out]
        INDArray dx = null;
        INDArray dw = null;
        if (needsGrad(0)) {
            dx = Nd4j.createUninitialized(DataType.FLOAT, new long[] {g16.size(0), wb.size(1)}, 'c'); // [N, in]
            Gemm.gemmBf16(g16, false, wb, false, dx, 1f, 0f);
            HalfFormat.BF16.roundInPlace(dx);
            dx = dx.reshape('c', xShape);
        }
        if (needsGrad(1)) {
            dw = Nd4j.createUninitialized(DataType.FLOAT, new long[] {out, xb.size(1)}, 'c'); // [out, in]
            Gemm.gemmBf16(g16, true, xb, false, dw, 1f, 0f);
            HalfFormat.BF16.roundInPlace(dw);
        }
        ScratchPool.give(g16);
        return new INDArray[] {dx, dw};
    }

    /**
     * @param x FLOAT, any layout
     * @return x rounded into a pooled BFLOAT16 array of its shape (give it back when done)
     */
    static INDArray bf16Copy(INDArray x) {
        INDArray b = ScratchPool.take(DataType.BFLOAT16, x.shape());
        Bf16Arrays.toBf16(x, b);
        return b;
    }

    @Override
    protected void release() {
        ScratchPool.give(xb);
        ScratchPool.give(wb);
        xb = null;
        wb = null;
    }
}
