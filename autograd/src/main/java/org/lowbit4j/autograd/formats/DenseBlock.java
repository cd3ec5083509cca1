package org.lowbit4j.autograd.formats;

import java.lang.foreign.MemorySegment;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Arrays whose elements fill one dense block of memory in some order, for element-wise in-place kernels. */
final class DenseBlock {
    private DenseBlock() {
    }

    /**
     * @param arr a non-empty array
     * @return a segment over exactly its elements, in memory order (C order, F order or any dense
     *     permutation), or null if the elements do not fill one gap-free block (a strided view) or a
     *     stride is negative
     */
    @SuppressWarnings("restricted") // the segment spans exactly the array's own elements
    static MemorySegment of(INDArray arr) {
        long[] shape = arr.shape();
        long[] stride = arr.stride();
        long last = 0;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] > 1) {
                if (stride[i] < 0) {
                    return null;
                }
                last += (shape[i] - 1) * stride[i];
            }
        }
        // NOTE: distinct elements reach distinct offsets in ND4J arrays (no zero strides on size > 1
        // dimensions except broadcasts, which never fill their span), so span == length means dense.
        if (last + 1 != arr.length()) {
            return null;
        }
        return MemorySegment.ofAddress(NativeArrays.address(arr)).reinterpret(arr.length() * arr.dataType().width());
    }

    /** @return whether x's elements are laid out in C order (row-major strides, ignoring size-1 dimensions) */
    static boolean isCOrder(INDArray x) {
        long[] shape = x.shape();
        long[] stride = x.stride();
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] > 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    /** An element-wise kernel from one segment into another (the two may be the same). */
    interface FloatKernel {
        void apply(MemorySegment src, MemorySegment dst, long n);
    }

    /**
     * Runs an element-wise kernel over n elements, in contiguous ranges on the cores when n is large
     * ({@link Gemm#forEachRange}). Each element is computed on its own, so the result is the same bits whichever
     * way the range is split.
     *
     * @param src n elements of srcBytes each
     * @param dst n elements of dstBytes each (may be src itself for an in-place kernel of equal widths)
     */
    static void split(MemorySegment src, int srcBytes, MemorySegment dst, int dstBytes, long n, FloatKernel kernel) {
        Gemm.forEachRange(n, (from, to) -> kernel.apply(src.asSlice(from * srcBytes, (to - from) * srcBytes),
                dst.asSlice(from * dstBytes, (to - from) * dstBytes), to - from));
    }

    /**
     * x passed through an element-wise kernel into a new C-ordered FLOAT array: one pass when x is dense
     * and C-ordered, else a dense copy transformed in place.
     *
     * @throws IllegalArgumentException naming {@code what} if x is not FLOAT
     */
    static INDArray roundedCopy(INDArray x, String what, FloatKernel kernel) {
        if (x == null || x.dataType() != org.nd4j.linalg.api.buffer.DataType.FLOAT) {
            throw new IllegalArgumentException(what + ": expected a FLOAT array, got "
                    + (x == null ? "null" : x.dataType()));
        }
        MemorySegment src = x.isEmpty() || !isCOrder(x) ? null : of(x);
        if (src == null) {
            INDArray out = x.dup('c');
            if (!out.isEmpty()) {
                MemorySegment d = of(out);
                split(d, 4, d, 4, out.length(), kernel);
            }
            return out;
        }
        // NOTE: uninitialised is safe: the kernel writes every element
        INDArray out = org.nd4j.linalg.factory.Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
        split(src, 4, of(out), 4, x.length(), kernel);
        return out;
    }
}
