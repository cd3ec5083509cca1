package org.lowbit4j.lora;

import java.lang.foreign.MemorySegment;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A frozen linear weight {@code [out, in]} in one of the {@link BaseFormat}s. It never receives a
 * gradient; compressed formats are decoded a tile of rows at a time by {@link TiledFrozenLinear}, so no
 * full-precision copy of the weight is kept.
 */
public sealed interface FrozenWeight permits DenseWeight, Bf16Weight, Nf4Weight {
    /** @return out (rows) */
    int rows();

    /** @return in (columns) */
    int cols();

    /** @return the storage format */
    BaseFormat format();

    /** @return bytes held by the stored representation (measured from the arrays actually kept) */
    long storageBytes();

    /**
     * Decodes rows {@code [rowStart, rowStart + rowCount)} as fp32.
     *
     * @param dst receives {@code rowCount * cols()} little-endian floats, row-major
     * @throws IllegalArgumentException on a row range outside the weight or a short destination
     */
    void decodeRows(int rowStart, int rowCount, MemorySegment dst);

    /** @return the number of weights, rows * cols */
    default long numel() {
        return (long) rows() * cols();
    }

    /**
     * The weight the forward pass actually uses, decoded in full (for merging and tests; the
     * training path never calls it for a compressed base).
     *
     * @return a new FLOAT array [out, in] (DOUBLE for a DOUBLE dense base)
     */
    default INDArray dequantize() {
        INDArray out = Nd4j.create(DataType.FLOAT, new long[] {rows(), cols()}, 'c');
        decodeRows(0, rows(), Segments.of(out));
        return out;
    }

    /**
     * @param weight [out, in], FLOAT (or DOUBLE for {@link BaseFormat#FP32})
     * @param format the storage format; FP32 keeps {@code weight} itself (not copied)
     * @param nf4BlockSize block size for NF4 (power of two in [32, 4096]; QLoRA uses 64); ignored otherwise
     * @return the frozen weight
     * @throws IllegalArgumentException for a non-2-D weight, more than 2^31 - 1 elements or a bad block size
     */
    static FrozenWeight of(INDArray weight, BaseFormat format, int nf4BlockSize) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("frozen weight must be [out, in], got shape "
                    + java.util.Arrays.toString(weight.shape()));
        }
        return switch (format) {
            case FP32 -> new DenseWeight(weight);
            case BF16 -> Bf16Weight.encode(weight);
            case NF4 -> Nf4Weight.quantize(weight, nf4BlockSize);
        };
    }

    /** Shared range check of {@link #decodeRows}. */
    static void checkRows(FrozenWeight w, int rowStart, int rowCount, MemorySegment dst) {
        if (rowStart < 0 || rowCount < 0 || (long) rowStart + rowCount > w.rows()) {
            throw new IllegalArgumentException("rows [" + rowStart + ", " + ((long) rowStart + rowCount)
                    + ") outside weight of " + w.rows() + " rows");
        }
        long need = (long) rowCount * w.cols() * Float.BYTES;
        if (dst.byteSize() < need) {
            throw new IllegalArgumentException("destination holds " + dst.byteSize() + " bytes, " + rowCount
                    + " rows of " + w.cols() + " floats need " + need);
        }
    }
}
