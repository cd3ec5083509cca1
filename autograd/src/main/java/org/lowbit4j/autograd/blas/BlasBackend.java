package org.lowbit4j.autograd.blas;

/**
 * Where {@link Gemm} sends its work: a CBLAS library called through the FFM API, or ND4J.
 */
public sealed interface BlasBackend permits CblasLibrary, Nd4jBlas {
    /** @return a one-line description for logs and benchmark tables (library, version, core, threads) */
    String describe();

    /** @return a short name: {@code system}, {@code bundled}, {@code path} or {@code nd4j} */
    String kind();
}
