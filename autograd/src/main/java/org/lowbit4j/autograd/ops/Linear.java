package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * x W^T without bias, W stored [out, in]: one GEMM on x viewed as [N, in]. Backward: dx = g W and
 * dW = g^T x, each a single GEMM, computed only when {@link #needsGrad(int)} asks for it (a frozen
 * weight costs no dW GEMM).
 *
 * <p>Inputs: x [..., in], w [out, in]. Output: [..., out].
 */
public final class Linear extends Function {
    private long[] xShape;
    private INDArray x2;
    private INDArray w;

    @Override
    protected INDArray forward(INDArray... in) {
        xShape = in[0].shape();
        long[] ws = in[1].shape();
        checkShapes(name(), xShape, ws);
        long n = Shapes.count(xShape) / ws[1];
        INDArray xm = Shapes.dense(in[0]).reshape('c', n, ws[1]);
        INDArray wd = Shapes.dense(in[1]);
        INDArray out = Gemm.mmul(xm, false, wd, true); // [N, out]
        x2 = needsGrad(1) ? xm : null;
        w = needsGrad(0) ? wd : null;
        long[] outShape = xShape.clone();
        outShape[outShape.length - 1] = ws[0];
        return out.reshape('c', outShape);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        long out = g.size(g.rank() - 1);
        INDArray g2 = Shapes.dense(g).reshape('c', g.length() / out, out); // [N, out]
        INDArray dx = needsGrad(0) ? Gemm.mmul(g2, false, w, false).reshape('c', xShape) : null; // [N, in]
        INDArray dw = needsGrad(1) ? Gemm.mmul(g2, true, x2, false) : null; // [out, in]
        return new INDArray[] {dx, dw};
    }

    @Override
    protected void release() {
        x2 = null;
        w = null;
    }

    /**
     * The shape rule of every linear primitive (this one and the mixed-precision ones).
     *
     * @param op the primitive's name, for the message
     * @param x the input's shape [..., in]
     * @param w the weight's shape [out, in]
     * @throws IllegalArgumentException if w is not 2-D or x does not end in w's in-dimension
     */
    public static void checkShapes(String op, long[] x, long[] w) {
        if (w.length != 2) {
            throw new IllegalArgumentException(op + ": weight must be [out, in], got " + Arrays.toString(w));
        }
        if (x.length == 0 || x[x.length - 1] != w[1]) {
            throw new IllegalArgumentException(op + ": input " + Arrays.toString(x)
                    + " does not end in the weight's in-dimension " + w[1] + " (weight " + Arrays.toString(w) + ")");
        }
    }
}
