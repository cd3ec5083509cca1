package org.lowbit4j.autograd.blas;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The fallback backend: ND4J's {@code Nd4j.gemm}, which runs libnd4j's {@code Mmul} custom op
 * (it calls the OpenBLAS bundled with ND4J with the right transpose flags, no copies, but with
 * a per-call overhead of op construction and shape checks that shows at small sizes).
 *
 * <p>Never {@code INDArray.mmul}: for C-ordered inputs it copies both operands and the result
 * between C and Fortran order around the BLAS call (see BENCHMARKS.md).
 */
public record Nd4jBlas() implements BlasBackend {
    /** The single instance. */
    public static final Nd4jBlas INSTANCE = new Nd4jBlas();

    @Override
    public String describe() {
        return "ND4J Nd4j.gemm (Mmul custom op, " + Nd4j.getExecutioner().getEnvironmentInformation().get("blas.vendor")
                + ", " + Nd4j.getExecutioner().getEnvironmentInformation().get("blas.threads") + " threads)";
    }

    @Override
    public String kind() {
        return "nd4j";
    }

    /**
     * C = alpha op(A) op(B) + beta C through ND4J; C may be any 2-D array (a view, F order):
     * it is computed in a dense C-ordered temporary first when it is not dense C-ordered itself.
     * Shapes and types were validated by {@link Gemm}.
     */
    void gemm(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c, double alpha, double beta) {
        if (isDenseC(c) && c.offset() == 0) {
            Nd4j.gemm(a, b, c, transA, transB, alpha, beta);
            return;
        }
        INDArray tmp = c.dup('c');
        Nd4j.gemm(a, b, tmp, transA, transB, alpha, beta);
        c.assign(tmp);
    }

    private static boolean isDenseC(INDArray x) {
        return x.ordering() == 'c' && !x.isView() && x.stride(1) == 1 && x.stride(0) == x.size(1);
    }
}
