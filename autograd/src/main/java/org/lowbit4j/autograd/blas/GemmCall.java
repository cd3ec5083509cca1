package org.lowbit4j.autograd.blas;

/**
 * One row-major GEMM on native addresses, C = alpha op(A) op(B) + beta C, as CBLAS and oneDNN's
 * {@code dnnl_sgemm} take it (column-major operands already turned into transpose flags), and the
 * sub-products over a band of C's rows or columns that {@link CoreSplit} hands to different cores.
 *
 * @param isDouble dgemm if true (8-byte elements), else sgemm (4-byte)
 * @param transA whether A is stored [K, M] (op(A) = A^T)
 * @param transB whether B is stored [N, K] (op(B) = B^T)
 * @param m rows of C
 * @param n columns of C
 * @param k the inner size
 * @param a address of A's first element, bytes
 * @param lda A's row stride in elements
 * @param b address of B's first element, bytes
 * @param ldb B's row stride in elements
 * @param c address of C's first element, bytes
 * @param ldc C's row stride in elements
 */
record GemmCall(boolean isDouble, boolean transA, boolean transB, int m, int n, int k, double alpha, long a,
        int lda, long b, int ldb, double beta, long c, int ldc) {

    /** @return the element width in bytes */
    long width() {
        return isDouble ? 8 : 4;
    }

    /**
     * The product restricted to C's rows [from, to): the same A rows (or A columns if transA) and all of B.
     *
     * @throws IllegalArgumentException unless 0 <= from < to <= m
     */
    GemmCall rows(int from, int to) {
        checkBand(from, to, m, "rows");
        long offA = transA ? from : (long) from * lda; // op(A) row i is A's row i, or A's column i if transposed
        return new GemmCall(isDouble, transA, transB, to - from, n, k, alpha, a + offA * width(), lda, b, ldb, beta,
                c + (long) from * ldc * width(), ldc);
    }

    /**
     * The product restricted to C's columns [from, to): all of A and the same B columns (or B rows if transB).
     *
     * @throws IllegalArgumentException unless 0 <= from < to <= n
     */
    GemmCall columns(int from, int to) {
        checkBand(from, to, n, "columns");
        long offB = transB ? (long) from * ldb : from; // op(B) column j is B's column j, or B's row j if transposed
        return new GemmCall(isDouble, transA, transB, m, to - from, k, alpha, a, lda, b + offB * width(), ldb, beta,
                c + from * width(), ldc);
    }

    /** Runs this product on a CBLAS library (called on this thread; the library may use its own threads). */
    void run(CblasLibrary lib) {
        lib.gemm(isDouble, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /**
     * Runs this fp32 product on oneDNN's {@code dnnl_sgemm} with the library's OpenMP thread count.
     *
     * @throws IllegalStateException if this is a double product (oneDNN has no dgemm) or oneDNN fails
     */
    void run(OneDnnLibrary lib) {
        if (isDouble) {
            throw new IllegalStateException("dnnl_sgemm multiplies fp32 only, this is a double product");
        }
        lib.gemm(false, transA, transB, m, n, k, (float) alpha, a, lda, b, ldb, (float) beta, c, ldc);
    }

    private static void checkBand(int from, int to, int size, String what) {
        if (from < 0 || to <= from || to > size) {
            throw new IllegalArgumentException("band of " + what + " [" + from + ", " + to + ") is not inside [0, "
                    + size + ")");
        }
    }
}
