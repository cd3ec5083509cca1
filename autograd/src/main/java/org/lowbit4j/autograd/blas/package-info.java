/**
 * Dense matrix products for the whole framework.
 *
 * <p>{@link org.lowbit4j.autograd.blas.Gemm} is the single entry point. It calls a CBLAS library
 * directly through the FFM API ({@code java.lang.foreign}), zero copy, on the native buffers of
 * ND4J arrays: the system's OpenBLAS when installed, else the OpenBLAS that ships inside ND4J's
 * native jar; {@code Nd4j.gemm} is the last resort. The system property {@code lowbit4j.blas}
 * ({@code auto}, {@code system}, {@code bundled}, {@code nd4j} or a path to a CBLAS library)
 * forces a choice. See {@link org.lowbit4j.autograd.blas.BlasBackends} for the rules and
 * BENCHMARKS.md for why ND4J's own {@code INDArray.mmul} path is slow.
 *
 * <p>bf16 products ({@code Gemm.gemmBf16}, {@code Gemm.gemmBatchedBf16}: BFLOAT16 operands, FLOAT
 * result) call oneDNN's {@code dnnl_gemm_bf16bf16f32} (AVX512-BF16 / AMX) through the same FFM
 * route when {@code libdnnl.so.2} is installed and the CPU has native bf16, else widen to fp32;
 * property {@code lowbit4j.bf16gemm} ({@code auto}, {@code onednn}, {@code fallback}), see
 * {@link org.lowbit4j.autograd.blas.Bf16GemmBackends}.
 *
 * <p>{@link org.lowbit4j.autograd.blas.NativeArrays} maps an ND4J array onto a
 * {@link java.lang.foreign.MemorySegment} (ND4J 1.0.0-M2.1 views already carry their offset in
 * the buffer's address).
 */
package org.lowbit4j.autograd.blas;
