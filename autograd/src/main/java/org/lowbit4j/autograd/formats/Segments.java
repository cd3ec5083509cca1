package org.lowbit4j.autograd.formats;

import java.lang.foreign.MemorySegment;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Views of ND4J buffers as {@link MemorySegment}s, for the bulk codecs of this package. */
public final class Segments {
    private Segments() {
    }

    /**
     * @param arr a C-ordered array with element-wise stride 1 (any data type)
     * @return a segment over exactly its {@code length * elementSize} bytes (valid while {@code arr} is alive)
     * @throws IllegalArgumentException if the array is not contiguous
     */
    @SuppressWarnings("restricted") // the segment spans exactly the array's own elements
    public static MemorySegment of(INDArray arr) {
        if (arr.ordering() != 'c' || (arr.length() > 1 && arr.elementWiseStride() != 1)) {
            throw new IllegalArgumentException("array must be C-ordered and contiguous, got order '"
                    + arr.ordering() + "' stride " + arr.elementWiseStride() + " shape "
                    + java.util.Arrays.toString(arr.shape()));
        }
        long size = arr.dataType().width();
        // NativeArrays.address knows ND4J's view convention (the buffer already carries the offset).
        return MemorySegment.ofAddress(NativeArrays.address(arr)).reinterpret(arr.length() * size);
    }
}
