package org.lowbit4j.autograd.blas;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * How a (batch of) matrix sits in memory for CBLAS: its first element's address, whether it is
 * column-major (then it is the row-major transpose), and the leading dimension in elements.
 *
 * @param address the first element's address in bytes
 * @param colMajor true if elements of a column are contiguous (F order or a transposed view)
 * @param ld the leading dimension: the stride between rows (row-major) or columns (column-major),
 *     at least the row (column) length
 */
record MatrixLayout(long address, boolean colMajor, int ld) {
    MatrixLayout {
        if (ld < 1) {
            throw new IllegalArgumentException("leading dimension must be >= 1, got " + ld);
        }
    }

    /**
     * The CBLAS layout of the matrix formed by the last two dimensions of x, or null if it has none
     * (no unit stride in either dimension, or a leading dimension beyond int range).
     *
     * @param x a non-empty array
     * @param first index of the row dimension (0 for a matrix, 1 for a batch [Bt, rows, cols])
     */
    static MatrixLayout of(INDArray x, int first) {
        long r = x.size(first);
        long c = x.size(first + 1);
        long s0 = x.stride(first);
        long s1 = x.stride(first + 1);
        // NOTE: a dimension of size 1 may carry any stride in ND4J; it never constrains the layout.
        if ((c == 1 || s1 == 1) && (r == 1 || s0 >= c)) {
            long ld = r == 1 ? Math.max(1, c) : s0;
            return ld <= Integer.MAX_VALUE ? new MatrixLayout(NativeArrays.address(x), false, (int) ld) : null;
        }
        if ((r == 1 || s0 == 1) && (c == 1 || s1 >= r)) {
            long ld = c == 1 ? Math.max(1, r) : s1;
            return ld <= Integer.MAX_VALUE ? new MatrixLayout(NativeArrays.address(x), true, (int) ld) : null;
        }
        return null;
    }
}
