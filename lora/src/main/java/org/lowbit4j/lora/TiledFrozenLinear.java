package org.lowbit4j.lora;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@code y = x W^T} for a compressed frozen weight W [out, in]: W is decoded a tile of rows at a time
 * into one reusable fp32 buffer, and each tile feeds one GEMM writing its columns of y. The backward
 * computes only the input gradient, {@code dx = sum over tiles of g[:, tile] W_tile}, decoding the tiles
 * again; the weight has no gradient, so no dW GEMM ever runs. At most one tile of fp32 weights exists
 * at any time per call.
 *
 * <p>Input: x [..., in] FLOAT. Output: [..., out] FLOAT.
 */
public final class TiledFrozenLinear extends Function {
    /** Default fp32 elements per decoded tile: 64K floats (256 KiB, about an L2 cache). */
    public static final int DEFAULT_TILE_ELEMENTS = 1 << 16;

    private final FrozenWeight weight;
    private final int tileRows;
    private long[] xShape;

    /**
     * @param weight the frozen weight
     * @param tileElements fp32 elements per tile (rounded to whole rows, at least one row)
     */
    public TiledFrozenLinear(FrozenWeight weight, int tileElements) {
        this.weight = weight;
        this.tileRows = Math.max(1, Math.min(weight.rows(), tileElements / weight.cols()));
    }

    /** @param weight the frozen weight, tiles of {@link #DEFAULT_TILE_ELEMENTS} */
    public TiledFrozenLinear(FrozenWeight weight) {
        this(weight, DEFAULT_TILE_ELEMENTS);
    }

    private static INDArray denseC(INDArray a) {
        boolean dense = a.ordering() == 'c' && (a.length() <= 1 || a.elementWiseStride() == 1);
        return dense ? a : a.dup('c');
    }

    @Override
    protected INDArray forward(INDArray... in) {
        INDArray x = in[0];
        xShape = x.shape();
        int cols = weight.cols();
        int rows = weight.rows();
        if (x.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException(name() + ": input must be FLOAT for a " + weight.format()
                    + " base, got " + x.dataType());
        }
        if (xShape.length == 0 || xShape[xShape.length - 1] != cols) {
            throw new IllegalArgumentException(name() + ": input " + Arrays.toString(xShape)
                    + " does not end in the weight's in-dimension " + cols + " (weight [" + rows + ", " + cols + "])");
        }
        long n = x.length() / cols;
        INDArray x2 = denseC(x).reshape('c', n, cols);                           // [N, in]
        INDArray out = Nd4j.create(DataType.FLOAT, new long[] {n, rows}, 'c');  // [N, out]
        INDArray tile = Nd4j.create(DataType.FLOAT, new long[] {tileRows, cols}, 'c');
        for (int r0 = 0; r0 < rows; r0 += tileRows) {
            int tr = Math.min(tileRows, rows - r0);
            INDArray t = tr == tileRows ? tile : Nd4j.create(DataType.FLOAT, new long[] {tr, cols}, 'c');
            weight.decodeRows(r0, tr, Segments.of(t));                          // [tr, in]
            INDArray outCols = out.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r0 + tr)); // [N, tr]
            Gemm.gemm(x2, false, t, true, outCols, 1.0, 0.0);
        }
        long[] outShape = xShape.clone();
        outShape[outShape.length - 1] = rows;
        return out.reshape('c', outShape);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        if (!needsGrad(0)) {
            return new INDArray[] {null};
        }
        int cols = weight.cols();
        int rows = weight.rows();
        long n = g.length() / rows;
        INDArray g2 = denseC(g).reshape('c', n, rows);                           // [N, out]
        INDArray dx = Nd4j.create(DataType.FLOAT, new long[] {n, cols}, 'c');   // [N, in]
        INDArray tile = Nd4j.create(DataType.FLOAT, new long[] {tileRows, cols}, 'c');
        for (int r0 = 0; r0 < rows; r0 += tileRows) {
            int tr = Math.min(tileRows, rows - r0);
            INDArray t = tr == tileRows ? tile : Nd4j.create(DataType.FLOAT, new long[] {tr, cols}, 'c');
            weight.decodeRows(r0, tr, Segments.of(t));                          // [tr, in]
            INDArray gCols = g2.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r0 + tr)); // [N, tr]
            Gemm.gemm(gCols, false, t, false, dx, 1.0, r0 == 0 ? 0.0 : 1.0);
        }
        return new INDArray[] {dx.reshape('c', xShape)};
    }
}
