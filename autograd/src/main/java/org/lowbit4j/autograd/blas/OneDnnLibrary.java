package org.lowbit4j.autograd.blas;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Intel oneDNN ({@code libdnnl.so.2}) bound through the FFM API: its two BLAS-like entry points
 * {@code dnnl_gemm_bf16bf16f32} (bf16 inputs, fp32 accumulation and output; AVX512-BF16 / AMX
 * kernels where the CPU has them) and {@code dnnl_sgemm} (fp32), always row-major on raw native
 * addresses, with 64-bit sizes.
 *
 * <p>oneDNN parallelises with OpenMP and asks {@code omp_get_max_threads()} how many threads to use.
 * The launcher and surefire set {@code OMP_NUM_THREADS=1} (ND4J's own OpenMP stalls on 2 vCPUs), so
 * every call sets the calling thread's OpenMP thread count to {@link #threads()} and restores it
 * afterwards ({@link OpenMp}; two native calls, tens of nanoseconds). The library stays loaded for the life of the JVM (global arena).
 *
 * @param location the file it was loaded from
 * @param version oneDNN's version string, e.g. {@code 2.6.3}
 * @param cpuIsa oneDNN's effective ISA flags ({@code dnnl_get_effective_cpu_isa}, informational)
 * @param threads the OpenMP thread count used for each call, at least 1
 * @param openMp the OpenMP runtime oneDNN uses, or null if its thread count cannot be set
 * @param matmul the matmul primitive binding for the products it suits ({@link OneDnnMatmul#suits}), or null
 *     (oneDNN 3.x, or switched off by {@value #MATMUL_PROPERTY}{@code =false})
 */
@SuppressWarnings("restricted")
record OneDnnLibrary(String location, String version, int cpuIsa, int threads, OpenMp openMp,
        MethodHandle gemmBf16, MethodHandle sgemm, OneDnnMatmul matmul) {
    /** System property: {@code false} keeps every bf16 product on the gemm entry point (for comparisons). */
    static final String MATMUL_PROPERTY = "lowbit4j.bf16gemm.matmul";

    /** dnnl_status_t success. */
    static final int SUCCESS = 0;

    /** Validates the components. */
    OneDnnLibrary {
        if (gemmBf16 == null || sgemm == null) {
            throw new IllegalArgumentException("oneDNN library " + location + " lacks dnnl_gemm_bf16bf16f32 or dnnl_sgemm");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }

    /**
     * Loads oneDNN and binds its GEMM entry points.
     *
     * @param path the library file
     * @param threads OpenMP threads per call, at least 1
     * @return the bound library
     * @throws IllegalArgumentException if it cannot be loaded or lacks the entry points
     */
    static OneDnnLibrary load(Path path, int threads) {
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot load oneDNN library " + path + ": " + e.getMessage(), e);
        }
        Linker linker = Linker.nativeLinker();
        // dnnl_status_t f(char transa, char transb, dnnl_dim_t M, N, K, float alpha, const T *A, dnnl_dim_t lda,
        //                 const T *B, dnnl_dim_t ldb, float beta, float *C, dnnl_dim_t ldc)
        FunctionDescriptor gemm = FunctionDescriptor.of(JAVA_INT, JAVA_BYTE, JAVA_BYTE, JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG);
        MethodHandle bf = lookup.find("dnnl_gemm_bf16bf16f32").map(p -> linker.downcallHandle(p, gemm)).orElse(null);
        MethodHandle s = lookup.find("dnnl_sgemm").map(p -> linker.downcallHandle(p, gemm)).orElse(null);
        OneDnnMatmul matmul = Boolean.parseBoolean(System.getProperty(MATMUL_PROPERTY, "true"))
                ? OneDnnMatmul.bind(lookup).orElse(null) : null;
        return new OneDnnLibrary(path.toString(), version(lookup, linker), cpuIsa(lookup, linker), threads,
                OpenMp.find(), bf, s, matmul);
    }

    private static String version(SymbolLookup lookup, Linker linker) {
        return lookup.find("dnnl_version").map(p -> {
            try {
                // const dnnl_version_t *dnnl_version(void); struct { int major, minor, patch; const char *hash; ... }
                var v = ((MemorySegment) linker.downcallHandle(p, FunctionDescriptor.of(ADDRESS)).invokeExact())
                        .reinterpret(12);
                return v.get(JAVA_INT, 0) + "." + v.get(JAVA_INT, 4) + "." + v.get(JAVA_INT, 8);
            } catch (Throwable t) {
                return "?";
            }
        }).orElse("?");
    }

    private static int cpuIsa(SymbolLookup lookup, Linker linker) {
        return lookup.find("dnnl_get_effective_cpu_isa").map(p -> {
            try {
                return (int) linker.downcallHandle(p, FunctionDescriptor.of(JAVA_INT)).invokeExact();
            } catch (Throwable t) {
                return -1;
            }
        }).orElse(-1);
    }

    /** @return the same library using another thread count per call */
    OneDnnLibrary withThreads(int n) {
        return new OneDnnLibrary(location, version, cpuIsa, n, openMp, gemmBf16, sgemm, matmul);
    }

    /** @return the same library without the matmul primitive (every bf16 product on the gemm entry point) */
    OneDnnLibrary withoutMatmul() {
        return new OneDnnLibrary(location, version, cpuIsa, threads, openMp, gemmBf16, sgemm, null);
    }

    /** @return a one-line description for logs and benchmark tables */
    String describe() {
        return "oneDNN " + version + " " + location + " (" + (matmul == null ? "" : "matmul primitive where it suits,"
                + " else ") + "dnnl_gemm_bf16bf16f32, effective ISA 0x"
                + Integer.toHexString(cpuIsa) + ", " + threads + " OpenMP thread" + (threads == 1 ? "" : "s")
                + (openMp == null ? ", thread count not settable" : "") + ")";
    }

    /**
     * Row-major C = alpha op(A) op(B) + beta C on native addresses (arguments already checked).
     * With beta = 0, C is not read.
     *
     * @param bf16 A and B hold bf16 (dnnl_gemm_bf16bf16f32) if true, fp32 (dnnl_sgemm) if false
     * @throws IllegalStateException if oneDNN returns an error status
     */
    void gemm(boolean bf16, boolean transA, boolean transB, long m, long n, long k, float alpha,
            long a, long lda, long b, long ldb, float beta, long c, long ldc) {
        int status;
        int previous = openMp == null ? -1 : openMp.setThreads(threads);
        try {
            status = invoke(bf16 ? gemmBf16 : sgemm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        } finally {
            if (previous > 0) {
                openMp.setThreads(previous);
            }
        }
        if (status != SUCCESS) {
            throw new IllegalStateException((bf16 ? "dnnl_gemm_bf16bf16f32" : "dnnl_sgemm") + " failed with status "
                    + status + " (M " + m + ", N " + n + ", K " + k + ", lda " + lda + ", ldb " + ldb + ", ldc " + ldc
                    + ")");
        }
    }

    /**
     * Row-major bf16 C[i] = op(A[i]) op(B[i]) (fp32 C overwritten) for i in [0, bt) on the matmul primitive,
     * with this library's thread count. Leading dimensions and batch strides in elements.
     *
     * @return false if there is no matmul binding or oneDNN has no implementation for this layout
     * @throws IllegalStateException if oneDNN fails
     */
    boolean matmulBf16(long bt, long m, long n, long k, boolean transA, boolean transB, long a, long lda, long sa,
            long b, long ldb, long sb, long c, long ldc, long sc) {
        long[] batch = bt == 1 ? new long[0] : new long[] {bt};
        long[] stridesA = transA ? new long[] {1, lda} : new long[] {lda, 1};
        long[] stridesB = transB ? new long[] {1, ldb} : new long[] {ldb, 1};
        long[] stridesC = {ldc, 1};
        if (bt != 1) {
            stridesA = new long[] {sa, stridesA[0], stridesA[1]};
            stridesB = new long[] {sb, stridesB[0], stridesB[1]};
            stridesC = new long[] {sc, ldc, 1};
        }
        return matmulBf16(batch, m, n, k, a, stridesA, b, stridesB, c, stridesC);
    }

    /**
     * The general form: op(A) [batch..., M, K], op(B) [batch..., K, N], C [batch..., M, N] given by address and
     * strides (elements), one matmul primitive call for the whole batch.
     *
     * @return false if there is no matmul binding or oneDNN has no implementation for this layout
     * @throws IllegalStateException if oneDNN fails
     */
    boolean matmulBf16(long[] batch, long m, long n, long k, long a, long[] sa, long b, long[] sb, long c,
            long[] sc) {
        if (matmul == null) {
            return false;
        }
        int previous = openMp == null ? -1 : openMp.setThreads(threads);
        try {
            return matmul.multiply(threads, batch, m, n, k, a, sa, b, sb, c, sc);
        } finally {
            if (previous > 0) {
                openMp.setThreads(previous);
            }
        }
    }

    private static int invoke(MethodHandle h, boolean transA, boolean transB, long m, long n, long k, float alpha,
            long a, long lda, long b, long ldb, float beta, long c, long ldc) {
        byte ta = (byte) (transA ? 'T' : 'N');
        byte tb = (byte) (transB ? 'T' : 'N');
        try {
            return (int) h.invokeExact(ta, tb, m, n, k, alpha, MemorySegment.ofAddress(a), lda,
                    MemorySegment.ofAddress(b), ldb, beta, MemorySegment.ofAddress(c), ldc);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("oneDNN gemm call failed", t);
        }
    }
}
