package org.lowbit4j.autograd.blas;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Native addresses of ND4J arrays, for kernels that read or write them through the FFM API.
 */
@SuppressWarnings("restricted")
public final class NativeArrays {
    private NativeArrays() {
    }

    /**
     * The address of an array's first element (the element at index 0 of every dimension).
     *
     * <p>NOTE: in ND4J 1.0.0-M2.1 a view's {@code data()} is itself a view buffer whose
     * {@code addressPointer()} already points at the view's first element; adding
     * {@code arr.offset() * elementSize} on top (as one might expect) counts the offset twice.
     * This method checks that the buffer's own offset equals the array's offset and fails
     * loudly otherwise, so a future ND4J that changes the convention cannot silently corrupt memory.
     *
     * @param arr a non-empty array on the CPU backend
     * @return the address in bytes
     * @throws IllegalArgumentException if the array is empty or its buffer offset disagrees with
     *     the array offset
     */
    public static long address(INDArray arr) {
        if (arr.isEmpty()) {
            throw new IllegalArgumentException("empty array " + Arrays.toString(arr.shape()) + " has no address");
        }
        if (arr.data().offset() != arr.offset()) {
            throw new IllegalArgumentException("array offset " + arr.offset() + " differs from its buffer's offset "
                    + arr.data().offset() + ": unsupported ND4J view layout");
        }
        return arr.data().addressPointer().address();
    }

    /**
     * A segment spanning every element an array can reach through its strides (no copy).
     *
     * @param arr a non-empty array with non-negative strides
     * @return a segment from the first element to the last reachable element, inclusive
     * @throws IllegalArgumentException on an empty array or a negative stride
     */
    public static MemorySegment segment(INDArray arr) {
        long span = spanElements(arr.shape(), arr.stride());
        return MemorySegment.ofAddress(address(arr)).reinterpret(span * arr.dataType().width());
    }

    /**
     * @param shape dimension sizes, all positive
     * @param stride element strides, non-negative
     * @return 1 + the largest element index reachable from element 0
     * @throws IllegalArgumentException on a negative stride or empty shape
     */
    static long spanElements(long[] shape, long[] stride) {
        long last = 0;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] <= 0) {
                throw new IllegalArgumentException("empty shape " + Arrays.toString(shape));
            }
            if (stride[i] < 0) {
                throw new IllegalArgumentException("negative stride in " + Arrays.toString(stride));
            }
            last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, stride[i]));
        }
        return last + 1;
    }
}
