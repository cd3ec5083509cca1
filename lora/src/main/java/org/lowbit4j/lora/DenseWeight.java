package org.lowbit4j.lora;

import java.lang.foreign.MemorySegment;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An uncompressed frozen weight (FLOAT, or DOUBLE for float64 gradient checks), used directly as the
 * GEMM operand. Merging adds the adapter product into this array in place.
 */
public final class DenseWeight implements FrozenWeight {
    private final INDArray weight;
    private final Tensor constant;

    /**
     * @param weight [out, in], FLOAT or DOUBLE; held, not copied
     * @throws IllegalArgumentException for another data type, rank or a size above 2^31 - 1 per dimension
     */
    public DenseWeight(INDArray weight) {
        if (weight.dataType() != DataType.FLOAT && weight.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException("dense frozen weight must be FLOAT or DOUBLE, got " + weight.dataType());
        }
        if (weight.rank() != 2 || weight.size(0) > Integer.MAX_VALUE || weight.size(1) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("dense frozen weight must be [out, in], got shape "
                    + java.util.Arrays.toString(weight.shape()));
        }
        this.weight = weight;
        this.constant = Tensor.constant(weight);
    }

    /** @return the weight array itself (mutable: merge writes into it) */
    public INDArray array() {
        return weight;
    }

    /** @return the weight as a constant tensor (no gradient) */
    public Tensor tensor() {
        return constant;
    }

    @Override
    public int rows() {
        return (int) weight.size(0);
    }

    @Override
    public int cols() {
        return (int) weight.size(1);
    }

    @Override
    public BaseFormat format() {
        return BaseFormat.FP32;
    }

    @Override
    public long storageBytes() {
        return weight.length() * weight.dataType().width();
    }

    @Override
    public void decodeRows(int rowStart, int rowCount, MemorySegment dst) {
        FrozenWeight.checkRows(this, rowStart, rowCount, dst);
        INDArray rows = weight.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(rowStart, rowStart + rowCount),
                org.nd4j.linalg.indexing.NDArrayIndex.all()).castTo(DataType.FLOAT).dup('c');
        MemorySegment.copy(Segments.of(rows), 0, dst, 0, (long) rowCount * cols() * Float.BYTES);
    }

    @Override
    public INDArray dequantize() {
        return weight.dup('c');
    }
}
