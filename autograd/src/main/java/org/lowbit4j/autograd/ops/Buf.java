package org.lowbit4j.autograd.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Element access to a dense C-ordered FLOAT or DOUBLE ND4J array through a {@link MemorySegment},
 * in double precision: row kernels read and write through this and accumulate in double.
 *
 * <p>Holds the array so the native buffer stays reachable while the segment is in use.
 */
final class Buf {
    private final INDArray array;
    private final MemorySegment seg;
    private final boolean isDouble;
    private final long length;

    @SuppressWarnings("restricted") // the segment spans exactly the array's own elements
    private Buf(INDArray array) {
        this.array = array;
        this.isDouble = array.dataType() == DataType.DOUBLE;
        this.length = array.length();
        long elem = isDouble ? 8 : 4;
        this.seg = MemorySegment.ofAddress(NativeArrays.address(array)).reinterpret(length * elem);
    }

    /**
     * @param a a dense C-ordered FLOAT or DOUBLE array (see {@link Shapes#dense})
     * @throws IllegalArgumentException otherwise
     */
    static Buf of(INDArray a) {
        if (a.dataType() != DataType.FLOAT && a.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException("kernel buffer must be FLOAT or DOUBLE, got " + a.dataType());
        }
        if (!Shapes.isDenseC(a)) {
            throw new IllegalArgumentException("kernel buffer must be dense C-ordered");
        }
        return new Buf(a);
    }

    double get(long i) {
        return isDouble ? seg.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i)
                : seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
    }

    /** Stores v, rounded to float for a FLOAT array. */
    void set(long i, double v) {
        if (isDouble) {
            seg.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
        } else {
            seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) v);
        }
    }

    boolean isDouble() {
        return isDouble;
    }

    long length() {
        return length;
    }

    MemorySegment segment() {
        return seg;
    }

    INDArray array() {
        return array;
    }
}
