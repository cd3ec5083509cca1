package org.lowbit4j.lora;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code y = x W^T} for a frozen weight W [out, in] in any format ({@link FrozenGemm}: tile by tile for
 * a compressed W). The backward computes only the input gradient; the weight has no gradient, so no dW
 * GEMM ever runs.
 *
 * <p>Input: x [..., in] (FLOAT; DOUBLE allowed for a DOUBLE dense W). Output: [..., out].
 */
public final class TiledFrozenLinear extends Function {
    /** Default fp32 elements per decoded tile. */
    public static final int DEFAULT_TILE_ELEMENTS = FrozenGemm.DEFAULT_TILE_ELEMENTS;

    private final FrozenWeight weight;
    private final int tileElements;
    private long[] xShape;

    /**
     * @param weight the frozen weight
     * @param tileElements fp32 elements per tile (rounded down to whole rows, at least one row)
     */
    public TiledFrozenLinear(FrozenWeight weight, int tileElements) {
        this.weight = weight;
        this.tileElements = tileElements;
    }

    /** @param weight the frozen weight, tiles of {@link #DEFAULT_TILE_ELEMENTS} */
    public TiledFrozenLinear(FrozenWeight weight) {
        this(weight, DEFAULT_TILE_ELEMENTS);
    }

    /** Checks x against W and returns its dtype's expectation. */
    static void checkInput(String op, FrozenWeight w, INDArray x) {
        long[] s = x.shape();
        DataType want = w instanceof DenseWeight d ? d.array().dataType() : DataType.FLOAT;
        if (x.dataType() != want) {
            throw new IllegalArgumentException(op + ": input must be " + want + " for a " + w.format() + " base, got "
                    + x.dataType());
        }
        if (s.length == 0 || s[s.length - 1] != w.cols()) {
            throw new IllegalArgumentException(op + ": input " + Arrays.toString(s) + " does not end in the weight's"
                    + " in-dimension " + w.cols() + " (weight [" + w.rows() + ", " + w.cols() + "])");
        }
    }

    @Override
    protected INDArray forward(INDArray... in) {
        checkInput(name(), weight, in[0]);
        xShape = in[0].shape();
        long n = in[0].length() / weight.cols();
        INDArray x2 = FrozenGemm.denseC(in[0]).reshape('c', n, weight.cols());                   // [N, in]
        INDArray out = Nd4j.create(in[0].dataType(), new long[] {n, weight.rows()}, 'c');       // [N, out]
        FrozenGemm.forward(weight, x2, out, 0.0, tileElements);
        long[] outShape = xShape.clone();
        outShape[outShape.length - 1] = weight.rows();
        return out.reshape('c', outShape);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        if (!needsGrad(0)) {
            return new INDArray[] {null};
        }
        long n = g.length() / weight.rows();
        INDArray g2 = FrozenGemm.denseC(g).reshape('c', n, weight.rows());                      // [N, out]
        INDArray dx = Nd4j.create(g.dataType(), new long[] {n, weight.cols()}, 'c');            // [N, in]
        FrozenGemm.backward(weight, g2, dx, 0.0, tileElements);
        return new INDArray[] {dx.reshape('c', xShape)};
    }
}
