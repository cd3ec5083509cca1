package org.lowbit4j.lora;

import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The fused LoRA linear: {@code y = x W^T + s ((x * mask) A^T) B^T}, W frozen (any {@link FrozenWeight}).
 * Built from GEMMs only (plus one multiply when a dropout mask is given), so an adapted layer costs a
 * handful of BLAS calls instead of five autograd operations.
 *
 * <p>Inputs: x [..., in], A [r, in], B [out, r], one data type. Output: [..., out].
 * Backward, with g = dL/dy as [N, out], h = x * mask and u = s h A^T [N, r] saved from the forward:
 * <pre>
 *   gu = g B            [N, r]
 *   dB = g^T u          [out, r]
 *   dA = s gu^T h       [r, in]
 *   dx = g W + (s gu A) * mask   [N, in]   (g W tile by tile for a compressed W; W gets no gradient)
 * </pre>
 */
final class LoraLinearOp extends Function {
    private final FrozenWeight weight;
    private final double scale;
    private final INDArray mask;
    private final int tileElements;
    private long[] xShape;
    private INDArray h2;
    private INDArray u;
    private INDArray a;
    private INDArray b;

    /**
     * @param mask dropout multipliers of x's shape (0 or 1/(1-p)), or null for none
     */
    LoraLinearOp(FrozenWeight weight, double scale, INDArray mask, int tileElements) {
        this.weight = weight;
        this.scale = scale;
        this.mask = mask;
        this.tileElements = tileElements;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        TiledFrozenLinear.checkInput(name(), weight, in[0]);
        xShape = in[0].shape();
        int cols = weight.cols();
        int rows = weight.rows();
        long n = in[0].length() / cols;
        a = FrozenGemm.denseC(in[1]);                                                        // [r, in]
        b = FrozenGemm.denseC(in[2]);                                                        // [out, r]
        if (a.size(1) != cols || b.size(0) != rows || a.size(0) != b.size(1)) {
            throw new IllegalArgumentException(name() + ": A " + java.util.Arrays.toString(a.shape()) + " and B "
                    + java.util.Arrays.toString(b.shape()) + " do not fit weight [" + rows + ", " + cols + "]");
        }
        INDArray x2 = FrozenGemm.denseC(in[0]).reshape('c', n, cols);                         // [N, in]
        INDArray out = Nd4j.create(in[0].dataType(), new long[] {n, rows}, 'c');             // [N, out]
        FrozenGemm.forward(weight, x2, out, 0.0, tileElements);
        h2 = mask == null ? x2 : x2.mul(mask.reshape('c', n, cols));                          // [N, in]
        u = Nd4j.create(in[0].dataType(), new long[] {n, a.size(0)}, 'c');                   // [N, r]
        Gemm.gemm(h2, false, a, true, u, scale, 0.0);
        Gemm.gemm(u, false, b, true, out, 1.0, 1.0);
        long[] outShape = xShape.clone();
        outShape[outShape.length - 1] = rows;
        return out.reshape('c', outShape);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        int rows = weight.rows();
        int cols = weight.cols();
        long n = g.length() / rows;
        INDArray g2 = FrozenGemm.denseC(g).reshape('c', n, rows);                            // [N, out]
        INDArray gu = Gemm.mmul(g2, false, b, false);                                       // [N, r]
        INDArray db = needsGrad(2) ? Gemm.mmul(g2, true, u, false) : null;                  // [out, r]
        INDArray da = null;
        if (needsGrad(1)) {
            da = Nd4j.create(g.dataType(), new long[] {a.size(0), cols}, 'c');              // [r, in]
            Gemm.gemm(gu, true, h2, false, da, scale, 0.0);
        }
        INDArray dx = null;
        if (needsGrad(0)) {
            dx = Nd4j.create(g.dataType(), new long[] {n, cols}, 'c');                      // [N, in]
            if (mask == null) {
                FrozenGemm.backward(weight, g2, dx, 0.0, tileElements);
                Gemm.gemm(gu, false, a, false, dx, scale, 1.0);
            } else {
                Gemm.gemm(gu, false, a, false, dx, scale, 0.0);
                dx.muli(mask.reshape('c', n, cols));
                FrozenGemm.backward(weight, g2, dx, 1.0, tileElements);
            }
            dx = dx.reshape('c', xShape);
        }
        return new INDArray[] {dx, da, db};
    }

    @Override
    protected void release() {
        h2 = null;
        u = null;
        a = null;
        b = null;
    }
}
