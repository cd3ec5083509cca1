package org.lowbit4j.autograd.blas;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The framework's single entry point for dense matrix products. Every GEMM in lowbit4j goes
 * through here so that the fastest available BLAS is used everywhere.
 *
 * <p>Currently delegates to ND4J ({@code Nd4j.gemm}); see BENCHMARKS.md.
 */
public final class Gemm {
    private Gemm() {
    }

    /**
     * C = alpha * op(A) op(B) + beta * C, for 2-D float or double arrays of one data type.
     *
     * @param a [M, K] (or [K, M] if transA)
     * @param b [K, N] (or [N, K] if transB)
     * @param c [M, N], written in place; must be a C-ordered array
     * @throws IllegalArgumentException on mismatched shapes or types
     */
    public static void gemm(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c,
            double alpha, double beta) {
        Nd4j.gemm(a, b, c, transA, transB, alpha, beta);
    }

    /**
     * @return op(A) op(B) as a new C-ordered array
     */
    public static INDArray mmul(INDArray a, boolean transA, INDArray b, boolean transB) {
        long m = transA ? a.size(1) : a.size(0);
        long n = transB ? b.size(0) : b.size(1);
        INDArray c = Nd4j.create(a.dataType(), new long[] {m, n}, 'c');
        gemm(a, transA, b, transB, c, 1.0, 0.0);
        return c;
    }
}
