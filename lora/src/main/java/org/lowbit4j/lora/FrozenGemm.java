package org.lowbit4j.lora;

import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The two products of a frozen weight W [out, in]: {@code out = x W^T + beta out} and
 * {@code dx = g W + beta dx}. A dense W is one GEMM; a compressed W is decoded a tile of rows at a time
 * into one reusable fp32 buffer, each tile feeding one GEMM, so at most one tile of decoded weights
 * exists per call. Only GEMMs and decoding run here: no ND4J element-wise op.
 */
final class FrozenGemm {
    /** Default fp32 elements per decoded tile: 64K floats (256 KiB, about an L2 cache). */
    static final int DEFAULT_TILE_ELEMENTS = 1 << 16;

    private FrozenGemm() {
    }

    /** @return a C-ordered contiguous array with a's values (a itself when it already is one) */
    static INDArray denseC(INDArray a) {
        boolean dense = a.ordering() == 'c' && (a.length() <= 1 || a.elementWiseStride() == 1);
        return dense ? a : a.dup('c');
    }

    private static int tileRows(FrozenWeight w, int tileElements) {
        return Math.max(1, Math.min(w.rows(), tileElements / w.cols()));
    }

    /** What to do with one decoded tile: rows [r0, r0 + tr) of W in {@code tile} [tr, in]. */
    private interface TileConsumer {
        void accept(int r0, int tr, INDArray tile);
    }

    /** Decodes W a tile of rows at a time into one reused buffer (a smaller one for the last tile). */
    private static void forEachTile(FrozenWeight w, int tileElements, TileConsumer consumer) {
        int rows = w.rows();
        int tr0 = tileRows(w, tileElements);
        INDArray tile = Nd4j.create(DataType.FLOAT, new long[] {tr0, w.cols()}, 'c');
        for (int r0 = 0; r0 < rows; r0 += tr0) {
            int tr = Math.min(tr0, rows - r0);
            INDArray t = tr == tr0 ? tile : Nd4j.create(DataType.FLOAT, new long[] {tr, w.cols()}, 'c');
            w.decodeRows(r0, tr, Segments.of(t));                                              // [tr, in]
            consumer.accept(r0, tr, t);
        }
    }

    /**
     * out = x W^T + beta out.
     *
     * @param x2 [N, in], contiguous
     * @param out [N, out]
     */
    static void forward(FrozenWeight w, INDArray x2, INDArray out, double beta, int tileElements) {
        if (w instanceof DenseWeight d) {
            Gemm.gemm(x2, false, d.array(), true, out, 1.0, beta);
            return;
        }
        int rows = w.rows();
        forEachTile(w, tileElements, (r0, tr, t) -> {
            INDArray outCols = tr == rows ? out : out.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r0 + tr)); // [N, tr]
            Gemm.gemm(x2, false, t, true, outCols, 1.0, beta);
        });
    }

    /**
     * dx = g W + beta dx.
     *
     * @param g2 [N, out], contiguous
     * @param dx [N, in]
     */
    static void backward(FrozenWeight w, INDArray g2, INDArray dx, double beta, int tileElements) {
        if (w instanceof DenseWeight d) {
            Gemm.gemm(g2, false, d.array(), false, dx, 1.0, beta);
            return;
        }
        int rows = w.rows();
        forEachTile(w, tileElements, (r0, tr, t) -> {
            INDArray gCols = tr == rows ? g2 : g2.get(NDArrayIndex.all(), NDArrayIndex.interval(r0, r0 + tr)); // [N, tr]
            Gemm.gemm(gCols, false, t, false, dx, 1.0, r0 == 0 ? beta : 1.0);
        });
    }
}
