package org.lowbit4j.autograd.blas;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A CBLAS shared library (OpenBLAS, BLIS, ...) bound through the FFM API: {@code cblas_sgemm}
 * and {@code cblas_dgemm}, always called in row-major layout on raw native addresses.
 *
 * <p>The library stays loaded for the life of the JVM (global arena). OpenBLAS extras
 * ({@code openblas_get_config}, {@code openblas_get_corename}, {@code openblas_get_num_threads})
 * are used for {@link #describe()} when present.
 *
 * @param kind {@code system}, {@code bundled} or {@code path}
 * @param location the file (or soname) it was loaded from
 * @param info version, detected core and thread count, as far as the library reports them
 * @param sgemm {@code cblas_sgemm}
 * @param dgemm {@code cblas_dgemm}
 * @param getNumThreads {@code openblas_get_num_threads}, or null for a library without it
 * @param setNumThreads {@code openblas_set_num_threads}, or null for a library without it
 */
@SuppressWarnings("restricted")
public record CblasLibrary(String kind, String location, String info, MethodHandle sgemm, MethodHandle dgemm,
        MethodHandle getNumThreads, MethodHandle setNumThreads) implements BlasBackend {
    static final int ROW_MAJOR = 101;
    static final int NO_TRANS = 111;
    static final int TRANS = 112;

    /** Validates the components. */
    public CblasLibrary {
        if (sgemm == null || dgemm == null) {
            throw new IllegalArgumentException("CBLAS library " + location + " lacks cblas_sgemm or cblas_dgemm");
        }
    }

    /**
     * Loads a library and binds its GEMM entry points.
     *
     * @param kind how it was found ({@code system}, {@code bundled}, {@code path})
     * @param location an absolute path, or a bare soname resolved by the dynamic loader
     * @return the bound library
     * @throws IllegalArgumentException if it cannot be loaded or lacks cblas_sgemm / cblas_dgemm
     */
    static CblasLibrary load(String kind, String location) {
        SymbolLookup lookup;
        try {
            lookup = location.indexOf('/') >= 0
                    ? SymbolLookup.libraryLookup(java.nio.file.Path.of(location), Arena.global())
                    : SymbolLookup.libraryLookup(location, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot load CBLAS library " + location + ": " + e.getMessage(), e);
        }
        Linker linker = Linker.nativeLinker();
        MethodHandle s = lookup.find("cblas_sgemm").map(p -> linker.downcallHandle(p, FunctionDescriptor.ofVoid(
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT,
                ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT))).orElse(null);
        MethodHandle d = lookup.find("cblas_dgemm").map(p -> linker.downcallHandle(p, FunctionDescriptor.ofVoid(
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_DOUBLE,
                ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_DOUBLE, ADDRESS, JAVA_INT))).orElse(null);
        MethodHandle get = lookup.find("openblas_get_num_threads")
                .map(p -> linker.downcallHandle(p, FunctionDescriptor.of(JAVA_INT))).orElse(null);
        MethodHandle set = lookup.find("openblas_set_num_threads")
                .map(p -> linker.downcallHandle(p, FunctionDescriptor.ofVoid(JAVA_INT))).orElse(null);
        return new CblasLibrary(kind, location, openBlasInfo(lookup, linker), s, d, get, set);
    }

    private static String openBlasInfo(SymbolLookup lookup, Linker linker) {
        StringBuilder sb = new StringBuilder();
        cString(lookup, linker, "openblas_get_config").ifPresent(sb::append);
        cString(lookup, linker, "openblas_get_corename").ifPresent(c -> sb.append(sb.isEmpty() ? "" : ", ").append("core ").append(c));
        lookup.find("openblas_get_num_threads").ifPresent(p -> {
            try {
                int n = (int) linker.downcallHandle(p, FunctionDescriptor.of(JAVA_INT)).invokeExact();
                sb.append(sb.isEmpty() ? "" : ", ").append(n).append(" threads");
            } catch (Throwable t) {
                // informational only
            }
        });
        return sb.isEmpty() ? "CBLAS" : sb.toString();
    }

    private static Optional<String> cString(SymbolLookup lookup, Linker linker, String fn) {
        return lookup.find(fn).map(p -> {
            try {
                var s = (MemorySegment) linker.downcallHandle(p, FunctionDescriptor.of(ADDRESS)).invokeExact();
                return s.equals(MemorySegment.NULL) ? null : s.reinterpret(4096).getString(0).strip();
            } catch (Throwable t) {
                return null;
            }
        });
    }

    @Override
    public String describe() {
        return kind + " CBLAS " + location + " (" + info + ")";
    }

    /**
     * Row-major C = alpha op(A) op(B) + beta C on native addresses (arguments already checked).
     *
     * @param isDouble dgemm if true, else sgemm
     */
    void gemm(boolean isDouble, boolean transA, boolean transB, int m, int n, int k, double alpha,
            long a, int lda, long b, int ldb, double beta, long c, int ldc) {
        MemorySegment pa = MemorySegment.ofAddress(a);
        MemorySegment pb = MemorySegment.ofAddress(b);
        MemorySegment pc = MemorySegment.ofAddress(c);
        int ta = transA ? TRANS : NO_TRANS;
        int tb = transB ? TRANS : NO_TRANS;
        try {
            if (isDouble) {
                dgemm.invokeExact(ROW_MAJOR, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            } else {
                sgemm.invokeExact(ROW_MAJOR, ta, tb, m, n, k, (float) alpha, pa, lda, pb, ldb, (float) beta, pc, ldc);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cblas gemm failed", t);
        }
    }

    /** @return the library's thread count, or 0 if it cannot report and change it */
    int threads() {
        if (getNumThreads == null || setNumThreads == null) {
            return 0;
        }
        try {
            return (int) getNumThreads.invokeExact();
        } catch (Throwable t) {
            return 0;
        }
    }

    /** Sets the library's thread count (all callers); a no-op without {@code openblas_set_num_threads}. */
    void threads(int n) {
        if (setNumThreads != null) {
            try {
                setNumThreads.invokeExact(n);
            } catch (Throwable t) {
                throw new IllegalStateException("openblas_set_num_threads failed", t);
            }
        }
    }
}
