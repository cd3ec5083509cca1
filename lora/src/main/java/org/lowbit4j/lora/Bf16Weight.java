package org.lowbit4j.lora;

import java.lang.foreign.MemorySegment;
import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A frozen weight stored as bfloat16 (2 bytes per weight), decoded with the vectorised {@link Bf16} kernel. */
public final class Bf16Weight implements FrozenWeight {
    private final int rows;
    private final int cols;
    private final short[] bits;

    private Bf16Weight(int rows, int cols, short[] bits) {
        this.rows = rows;
        this.cols = cols;
        this.bits = bits;
    }

    /**
     * @param weight [out, in], floating point (rounded to nearest even bf16)
     * @throws IllegalArgumentException if it holds more than 2^31 - 8 elements
     */
    public static Bf16Weight encode(INDArray weight) {
        if (weight.length() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("weight of " + weight.length() + " elements is too large for BF16 storage");
        }
        INDArray f = weight.castTo(DataType.FLOAT).dup('c');
        short[] bits = new short[(int) f.length()];
        Bf16.encode(Segments.of(f), MemorySegment.ofArray(bits), bits.length);
        return new Bf16Weight((int) weight.size(0), (int) weight.size(1), bits);
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public BaseFormat format() {
        return BaseFormat.BF16;
    }

    @Override
    public long storageBytes() {
        return 2L * bits.length;
    }

    @Override
    public void decodeRows(int rowStart, int rowCount, MemorySegment dst) {
        FrozenWeight.checkRows(this, rowStart, rowCount, dst);
        long n = (long) rowCount * cols;
        MemorySegment src = MemorySegment.ofArray(bits).asSlice((long) rowStart * cols * 2, n * 2);
        Bf16.decode(src, dst, n);
    }
}
