package org.lowbit4j.autograd.blas;

import java.util.Arrays;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.lowbit4j.autograd.formats.Bf16Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The framework's single entry point for dense matrix products. Every GEMM in lowbit4j goes
 * through here so that the fastest available BLAS is used everywhere.
 *
 * <p>FLOAT and DOUBLE products go straight to a CBLAS library through the FFM API with the
 * operands' native addresses (zero copy): transposes become CBLAS flags, and any 2-D array whose
 * rows or columns are contiguous (C order, F order, row/column slices, transposed views) is passed
 * with its leading dimension. Only arrays with no unit stride are copied first. Which library is
 * used is decided once ({@link BlasBackends}, property {@code lowbit4j.blas}) and logged at INFO;
 * other data types, and machines without a usable library, use {@code Nd4j.gemm}.
 *
 * <p>fp32 products of at least {@link SgemmBackends#MIN_MULTIPLY_ADDS} multiply-adds go to oneDNN's
 * {@code dnnl_sgemm} instead where oneDNN is installed ({@link SgemmBackends}, property
 * {@code lowbit4j.sgemm}; decided once and logged at INFO). On a CBLAS library with two or more
 * threads, a large enough product is cut into bands of C, one per core, each a single-threaded call
 * ({@link CoreSplit}: a fixed rule on the sizes, same bits as one call). {@link #plan} tells what a
 * given product does; property {@value #SPLIT_PROPERTY}{@code =false} (or {@link #useCoreSplit})
 * leaves every product to one call on the library's own threads.
 *
 * <p>bf16 products ({@link #gemmBf16}, {@link #gemmBatchedBf16}: BFLOAT16 operands, FLOAT result,
 * fp32 accumulation) go to oneDNN's {@code dnnl_gemm_bf16bf16f32} (AVX512-BF16 / AMX) when it is
 * installed and the CPU has native bf16, else widen the operands and use the fp32 path; decided once
 * ({@link Bf16GemmBackends}, property {@code lowbit4j.bf16gemm}) and logged at INFO.
 *
 * <p>Thread safety: calls from several threads are fine as long as their outputs do not overlap.
 */
public final class Gemm {
    private static final Logger LOG = LogManager.getLogger(Gemm.class);
    private static volatile BlasBackend backend;
    /** The large-fp32 route once resolved: oneDNN at one thread per call, or a null library for CBLAS. */
    private static volatile SgemmRoute sgemmRoute;
    /** The system property that turns the split over the cores off ({@code false}); default {@code true}. */
    public static final String SPLIT_PROPERTY = "lowbit4j.gemm.split";
    private static volatile boolean coreSplit = !"false".equalsIgnoreCase(System.getProperty(SPLIT_PROPERTY, "true")
            .strip());
    /** The bf16 route once resolved: oneDNN, or a null library for the widening fallback. */
    private static volatile Bf16Route bf16Route;

    private record SgemmRoute(OneDnnLibrary oneDnn) {
        String describe() {
            return oneDnn == null ? "the CBLAS backend"
                    : "oneDNN " + oneDnn.version() + " dnnl_sgemm " + oneDnn.location() + " for fp32 products of >= "
                            + SgemmBackends.MIN_MULTIPLY_ADDS + " multiply-adds (SgemmBackends.suits), one OpenMP"
                            + " thread per band";
        }

        /** @return oneDNN if it takes this product, else null (the CBLAS library takes it) */
        OneDnnLibrary takes(GemmCall call) {
            return oneDnn != null && SgemmBackends.suits(call) ? oneDnn : null;
        }
    }

    private record Bf16Route(OneDnnLibrary oneDnn) {
        String describe() {
            return oneDnn != null ? oneDnn.describe()
                    : "fallback: widen bf16 to fp32, then the fp32 GEMM (" + backend().describe() + ")";
        }
    }

    private Gemm() {
    }

    /** @return the backend in use, resolving (and logging) it on first use */
    public static BlasBackend backend() {
        BlasBackend b = backend;
        if (b == null) {
            synchronized (Gemm.class) {
                b = backend;
                if (b == null) {
                    b = BlasBackends.resolve(System.getProperty(BlasBackends.PROPERTY));
                    LOG.info("lowbit4j GEMM backend: {}", b.describe());
                    backend = b;
                }
            }
        }
        return b;
    }

    /**
     * Replaces the backend (tests and benchmarks compare backends inside one JVM).
     *
     * @param setting a value as for the {@code lowbit4j.blas} property
     * @return the backend now in use
     */
    static synchronized BlasBackend use(String setting) {
        backend = BlasBackends.resolve(setting);
        return backend;
    }

    /**
     * Switches the backend for all threads, e.g. to compare the libraries of
     * {@link BlasBackends#cblasLibraries()} in a benchmark. Do not call while products run.
     *
     * @param b the backend to use from now on
     */
    public static synchronized void useBackend(BlasBackend b) {
        backend = java.util.Objects.requireNonNull(b, "backend");
    }

    /** @return where large fp32 products go, resolving (and logging) it on first use */
    public static String sgemmBackend() {
        return sgemmRoute().describe();
    }

    private static SgemmRoute sgemmRoute() {
        SgemmRoute r = sgemmRoute;
        if (r == null) {
            synchronized (Gemm.class) {
                r = sgemmRoute;
                if (r == null) {
                    r = new SgemmRoute(SgemmBackends.resolve(System.getProperty(SgemmBackends.PROPERTY)));
                    LOG.info("lowbit4j fp32 GEMM route: {}", r.describe());
                    sgemmRoute = r;
                }
            }
        }
        return r;
    }

    /**
     * Switches the large-fp32 route for all threads (benchmarks compare routes in one JVM). Do not call
     * while products run.
     *
     * @param setting {@code auto}, {@code onednn} or {@code blas}, as for the property
     *     {@value SgemmBackends#PROPERTY}
     * @return the description of the route now in use
     */
    public static synchronized String useSgemmBackend(String setting) {
        sgemmRoute = new SgemmRoute(SgemmBackends.resolve(setting));
        return sgemmRoute.describe();
    }

    /**
     * Turns the split of one product over the cores ({@link CoreSplit}) on or off for all threads, e.g.
     * to compare it with the library's own threads in a benchmark. The bits are the same either way.
     * Do not call while products run.
     *
     * @param on true to split products the rule picks (the default), false for one library call each
     */
    public static void useCoreSplit(boolean on) {
        coreSplit = on;
    }

    /** @return whether products are split over the cores now ({@link #useCoreSplit}, {@value #SPLIT_PROPERTY}) */
    public static boolean coreSplitOn() {
        return coreSplit;
    }

    /**
     * How {@link #gemm} runs a product of these sizes on C-ordered arrays (A, B and C; an F-ordered C
     * swaps rows and columns) with the current backend, route and thread count: for a benchmark table or
     * a log line.
     *
     * @param m rows of op(A) and C
     * @param n columns of op(B) and C
     * @param k the inner size
     * @param transA whether op(A) = A^T
     * @param transB whether op(B) = B^T
     * @param type FLOAT or DOUBLE
     * @return e.g. {@code "oneDNN, 2 row bands, 1 thread each"}, {@code "CBLAS, one call, 2 threads"} or
     *     {@code "Nd4j.gemm"}
     * @throws IllegalArgumentException if a size is negative
     */
    public static String plan(long m, long n, long k, boolean transA, boolean transB, DataType type) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("sizes must be >= 0, got " + m + ", " + n + ", " + k);
        }
        if (!(backend() instanceof CblasLibrary lib) || !fitsInt(m, n, k)
                || (type != DataType.FLOAT && type != DataType.DOUBLE)) {
            return "Nd4j.gemm";
        }
        GemmCall call = new GemmCall(type == DataType.DOUBLE, transA, transB, (int) m, (int) n, (int) k, 1, 0, 1, 0, 1,
                0, 0, 1);
        boolean oneDnn = sgemmRoute().takes(call) != null;
        CoreSplit split = coreSplit(lib, call);
        int threads = oneDnn ? 1 : lib.threads();
        return (oneDnn ? "oneDNN, " : "CBLAS, ") + (split.parts() > 1
                ? split.parts() + (split.byRows() ? " row" : " column") + " bands, 1 thread each"
                : "one call, " + (threads < 1 ? "library's" : threads) + " thread" + (threads == 1 ? "" : "s"));
    }

    /**
     * The split for a product now: none inside a parallel region or when switched off; else as many bands as
     * the CBLAS library's thread count (OPENBLAS_NUM_THREADS, the cores the user gives to products) allows.
     */
    private static CoreSplit coreSplit(CblasLibrary lib, GemmCall call) {
        if (!coreSplit || WORKERS == null || insideParallelRegion()) {
            return CoreSplit.NONE;
        }
        return CoreSplit.choose(call.m(), call.n(), call.k(), Math.min(CORES, lib.threads()));
    }

    /**
     * C = alpha * op(A) op(B) + beta * C, for 2-D float or double arrays of one data type.
     * With beta = 0, C's old contents are ignored (NaN in C does not propagate).
     *
     * @param a [M, K] (or [K, M] if transA); any strides
     * @param b [K, N] (or [N, K] if transB); any strides
     * @param c [M, N], written in place; any strides (a view is fine); must not overlap a or b
     *     partially (if it does, the product goes through a temporary)
     * @throws IllegalArgumentException on a rank other than 2, mismatched shapes, mixed or
     *     non-floating data types
     */
    public static void gemm(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c,
            double alpha, double beta) {
        Dims d = Dims.of(a, transA, b, transB, c, false);
        long m = d.m();
        long n = d.n();
        long k = d.k();
        checkTypes(a, b, c);
        if (d.trivial(c, beta)) {
            return;
        }
        if (backend() instanceof CblasLibrary lib && blasType(c) && fitsInt(m, n, k)) {
            cblas(lib, a, transA, b, transB, c, alpha, beta, (int) m, (int) n, (int) k);
        } else {
            Nd4jBlas.INSTANCE.gemm(a, transA, b, transB, c, alpha, beta);
        }
    }

    /**
     * @return op(A) op(B) as a new C-ordered [M, N] array
     * @throws IllegalArgumentException as for {@link #gemm}
     */
    public static INDArray mmul(INDArray a, boolean transA, INDArray b, boolean transB) {
        check2d("a", a);
        check2d("b", b);
        long m = transA ? a.size(1) : a.size(0);
        long n = transB ? b.size(0) : b.size(1);
        // NOTE: uninitialised is safe because beta = 0 makes every backend ignore C's old contents
        // (even NaN); zero-filling would cost a full extra pass, 262 MB for the 32000-vocab logits.
        INDArray c = Nd4j.createUninitialized(a.dataType(), new long[] {m, n}, 'c');
        gemm(a, transA, b, transB, c, 1.0, 0.0);
        return c;
    }

    /**
     * Batched product: C[i] = alpha * op(A[i]) op(B[i]) + beta * C[i] for every i in [0, Bt),
     * e.g. attention scores Q K^T over [B*H, T, Dh]. One single-threaded library call per batch entry
     * (the library {@link #gemm} would pick for one entry), the entries side by side on the cores
     * ({@link #forEachParallel}), on the operands' own memory (no slicing into ND4J views, no copies for
     * C- or F-ordered batches); a batch of one is split as {@link #gemm} splits it.
     *
     * @param a [Bt, M, K] (or [Bt, K, M] if transA)
     * @param b [Bt, K, N] (or [Bt, N, K] if transB)
     * @param c [Bt, M, N], written in place
     * @throws IllegalArgumentException on a rank other than 3, mismatched batch or matrix sizes,
     *     mixed or non-floating data types
     */
    public static void gemmBatched(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c,
            double alpha, double beta) {
        Dims d = Dims.of(a, transA, b, transB, c, true);
        long bt = d.batch();
        long m = d.m();
        long n = d.n();
        long k = d.k();
        checkTypes(a, b, c);
        if (d.trivial(c, beta)) {
            return;
        }
        if (backend() instanceof CblasLibrary lib && blasType(c) && fitsInt(m, n, k)) {
            cblasBatched(lib, a, transA, b, transB, c, alpha, beta, bt, (int) m, (int) n, (int) k);
        } else {
            for (long i = 0; i < bt; i++) {
                Nd4jBlas.INSTANCE.gemm(slice(a, i), transA, slice(b, i), transB, slice(c, i), alpha, beta);
            }
        }
    }

    /**
     * @return op(A[i]) op(B[i]) for each i as a new C-ordered [Bt, M, N] array
     * @throws IllegalArgumentException as for {@link #gemmBatched}
     */
    public static INDArray mmulBatched(INDArray a, boolean transA, INDArray b, boolean transB) {
        check3d("a", a);
        check3d("b", b);
        long m = transA ? a.size(2) : a.size(1);
        long n = transB ? b.size(1) : b.size(2);
        INDArray c = Nd4j.createUninitialized(a.dataType(), new long[] {a.size(0), m, n}, 'c');
        gemmBatched(a, transA, b, transB, c, 1.0, 0.0);
        return c;
    }

    // ---- many small products at once ----

    private static final int CORES = Runtime.getRuntime().availableProcessors();
    /** One helper thread per extra core (spinning briefly between regions), or null on one core. */
    private static final CoreWorkers WORKERS = CORES < 2 ? null : new CoreWorkers(CORES - 1);
    private static final Object PARALLEL_REGION = new Object();

    /**
     * Runs {@code body.accept(i)} for every i in [0, n), spread over the available processors in contiguous
     * chunks, with the BLAS library held at one thread meanwhile: many small products run faster side by side
     * than one after another each split over the cores (OpenBLAS's thread handoff costs more than a 256 x 256 x 48
     * product). Each i must write outputs no other i touches; then the results do not depend on how the range was
     * split. Falls back to a plain loop on one core, when the library's threads cannot be set, and inside a
     * parallel region (a body that calls this again, or a product that {@link #gemm} splits, runs its items on
     * its own thread, in order).
     *
     * @param n the number of independent items
     * @param body the work of one item (may call {@link #gemm} and any other thread-safe code)
     * @throws RuntimeException whatever body throws (the first one)
     */
    public static void forEachParallel(long n, java.util.function.LongConsumer body) {
        if (n < 2 || WORKERS == null || !(backend() instanceof CblasLibrary lib) || lib.threads() < 1
                || insideParallelRegion()) {
            for (long i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        synchronized (PARALLEL_REGION) {
            int before = lib.threads();
            lib.threads(1);
            try {
                int chunks = (int) Math.min(CORES, n);
                var tasks = new java.util.ArrayList<Runnable>();
                for (int c = 1; c < chunks; c++) {
                    long from = n * c / chunks;
                    long to = n * (c + 1) / chunks;
                    tasks.add(() -> {
                        for (long i = from; i < to; i++) {
                            body.accept(i);
                        }
                    });
                }
                // every chunk finishes before this returns (or throws): none may write after the caller moves on
                WORKERS.run(tasks, () -> {
                    for (long i = 0; i < n / chunks; i++) {
                        body.accept(i);
                    }
                });
            } finally {
                lib.threads(before);
            }
        }
    }

    /** Element-wise work over fewer elements than this stays on the calling thread ({@link #forEachRange}). */
    public static final long RANGE_PARALLEL_MIN = 1L << 18;
    /** {@link #forEachRange}'s range edges are multiples of this many elements (whole vectors and cache lines). */
    private static final long RANGE_ALIGN = 64;

    /** Work on the elements [from, to) of a range. */
    @FunctionalInterface
    public interface RangeBody {
        void run(long from, long to);
    }

    /**
     * Runs element-wise work over [0, n): in two contiguous ranges, one per core ({@link #forEachParallel}), when n
     * is at least {@link #RANGE_PARALLEL_MIN}, else as one range on the calling thread. The ranges meet at a
     * multiple of 64 elements. Where every element is computed on its own, the result does not depend on the split.
     *
     * @param n the number of elements
     * @param body the work on one range (thread-safe; ranges do not overlap)
     * @throws RuntimeException whatever body throws (the first one)
     */
    public static void forEachRange(long n, RangeBody body) {
        if (n < RANGE_PARALLEL_MIN) {
            body.run(0, n);
            return;
        }
        int parts = 2;
        forEachParallel(parts, i -> body.run(rangeEdge(n, i, parts), rangeEdge(n, i + 1, parts)));
    }

    /** Where range i of parts starts: an even share rounded down to {@link #RANGE_ALIGN} (range parts ends at n). */
    private static long rangeEdge(long n, long i, int parts) {
        return i >= parts ? n : Math.min(n, n * i / parts / RANGE_ALIGN * RANGE_ALIGN);
    }

    /** @return true on a thread that runs (part of) a {@link #forEachParallel} body right now */
    private static boolean insideParallelRegion() {
        return Thread.holdsLock(PARALLEL_REGION) || CoreWorkers.isHelper(Thread.currentThread());
    }

    // ---- bf16 ----

    /** @return a one-line description of how bf16 products run, resolving (and logging) it on first use */
    public static String bf16Backend() {
        return bf16Route().describe();
    }

    /**
     * Whether bf16 products run on native bf16 hardware (oneDNN) rather than the widening fallback.
     * NOTE: the fallback is correct but SLOWER than fp32 (it widens and allocates both operands
     * first: 0.3-0.6x of the fp32 GEMM on the stories15M shapes), so mixed-precision code should keep
     * its GEMMs in fp32 when this is false.
     *
     * @return true if {@link #gemmBf16} uses oneDNN
     */
    public static boolean bf16Accelerated() {
        return bf16Route().oneDnn() != null;
    }

    private static Bf16Route bf16Route() {
        Bf16Route r = bf16Route;
        if (r == null) {
            synchronized (Gemm.class) {
                r = bf16Route;
                if (r == null) {
                    r = new Bf16Route(Bf16GemmBackends.resolve(System.getProperty(Bf16GemmBackends.PROPERTY)));
                    LOG.info("lowbit4j bf16 GEMM backend: {}", r.describe());
                    bf16Route = r;
                }
            }
        }
        return r;
    }

    /**
     * Switches the bf16 route for all threads (tests and benchmarks compare routes in one JVM).
     * Do not call while products run.
     *
     * @param setting {@code auto}, {@code onednn}, {@code onednn-gemm} or {@code fallback}, as for the property
     *     {@value Bf16GemmBackends#PROPERTY}
     * @param threads OpenMP threads per oneDNN call; 0 keeps the default
     *     ({@value Bf16GemmBackends#THREADS_PROPERTY}, else the available processors)
     * @return the description of the route now in use
     * @throws IllegalArgumentException if threads is negative
     */
    public static synchronized String useBf16Backend(String setting, int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
        OneDnnLibrary lib = Bf16GemmBackends.resolve(setting);
        if (lib != null && threads > 0) {
            lib = lib.withThreads(threads);
        }
        bf16Route = new Bf16Route(lib);
        return bf16Route.describe();
    }

    /**
     * C = alpha * op(A) op(B) + beta * C with bf16 operands and an fp32 result, accumulated in fp32
     * (products of bf16 values are exact in fp32; only the summation order differs between
     * routes). With beta = 0, C's old contents are ignored (NaN in C does not propagate).
     *
     * <p>Runs on oneDNN ({@link #bf16Backend()}) with the operands' own memory when every matrix has
     * a unit stride in one dimension (C order, F order, row/column slices, transposed views; others
     * are copied first); otherwise widens A and B to fp32 (exact) and calls {@link #gemm}.
     *
     * @param a BFLOAT16 [M, K] (or [K, M] if transA); any strides
     * @param b BFLOAT16 [K, N] (or [N, K] if transB); any strides
     * @param c FLOAT [M, N], written in place; any strides (a view is fine)
     * @throws IllegalArgumentException on a rank other than 2, mismatched shapes, or data types
     *     other than BFLOAT16 operands and a FLOAT result
     */
    public static void gemmBf16(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c,
            float alpha, float beta) {
        bf16Product(a, transA, b, transB, c, alpha, beta, false);
    }

    /**
     * Batched bf16 product: C[i] = alpha * op(A[i]) op(B[i]) + beta * C[i] for every i in [0, Bt),
     * e.g. attention scores Q K^T over [B*H, T, Dh]; semantics and routes as {@link #gemmBf16}.
     *
     * @param a BFLOAT16 [Bt, M, K] (or [Bt, K, M] if transA)
     * @param b BFLOAT16 [Bt, K, N] (or [Bt, N, K] if transB)
     * @param c FLOAT [Bt, M, N], written in place
     * @throws IllegalArgumentException on a rank other than 3, mismatched batch or matrix sizes, or
     *     data types other than BFLOAT16 operands and a FLOAT result
     */
    public static void gemmBatchedBf16(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c,
            float alpha, float beta) {
        bf16Product(a, transA, b, transB, c, alpha, beta, true);
    }

    /**
     * C[i] = op(A[i]) op(B[i]) over any number of leading batch dimensions, bf16 operands, fp32 result
     * (overwritten; alpha 1, beta 0). With oneDNN's matmul primitive the whole batch is one call on the
     * operands' own strides: e.g. the 48 per-head products of attention read straight out of [B, T, H, D]
     * arrays permuted to [B, H, T, D]. Without it, each matrix goes through {@link #gemmBf16}.
     *
     * @param a BFLOAT16 [..., M, K] (or [..., K, M] if transA); any non-negative strides
     * @param b BFLOAT16 [..., K, N] (or [..., N, K] if transB), the same leading dimensions
     * @param c FLOAT [..., M, N], the same leading dimensions; must not overlap a or b
     * @throws IllegalArgumentException on ranks below 2 or unequal, mismatched sizes, or wrong data types
     */
    public static void matmulBf16(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c) {
        checkBf16Types(a, b, c);
        int r = c.rank();
        if (r < 2 || a.rank() != r || b.rank() != r) {
            throw new IllegalArgumentException("matmulBf16: a, b and c must have one rank >= 2, got a "
                    + java.util.Arrays.toString(a.shape()) + ", b " + java.util.Arrays.toString(b.shape()) + ", c "
                    + java.util.Arrays.toString(c.shape()));
        }
        long m = c.size(r - 2);
        long n = c.size(r - 1);
        long k = transA ? a.size(r - 2) : a.size(r - 1);
        long[] batch = java.util.Arrays.copyOf(c.shape(), r - 2);
        if ((transA ? a.size(r - 1) : a.size(r - 2)) != m || (transB ? b.size(r - 1) : b.size(r - 2)) != k
                || (transB ? b.size(r - 2) : b.size(r - 1)) != n
                || !java.util.Arrays.equals(batch, java.util.Arrays.copyOf(a.shape(), r - 2))
                || !java.util.Arrays.equals(batch, java.util.Arrays.copyOf(b.shape(), r - 2))) {
            throw new IllegalArgumentException("matmulBf16: shapes do not match: a " + java.util.Arrays.toString(a.shape())
                    + (transA ? "^T" : "") + ", b " + java.util.Arrays.toString(b.shape()) + (transB ? "^T" : "")
                    + ", c " + java.util.Arrays.toString(c.shape()));
        }
        if (c.isEmpty()) {
            return;
        }
        if (k == 0) {
            c.assign(0);
            return;
        }
        OneDnnLibrary lib = bf16Route().oneDnn();
        if (lib != null && lib.matmulBf16(batch, m, n, k, NativeArrays.address(a), opStrides(a, transA),
                NativeArrays.address(b), opStrides(b, transB), NativeArrays.address(c), c.stride())) {
            return;
        }
        long count = c.length() / (m * n);
        for (long f = 0; f < count; f++) {
            org.nd4j.linalg.indexing.INDArrayIndex[] at = new org.nd4j.linalg.indexing.INDArrayIndex[r];
            long rest = f;
            for (int d = r - 3; d >= 0; d--) {
                at[d] = org.nd4j.linalg.indexing.NDArrayIndex.point(rest % batch[d]);
                rest /= batch[d];
            }
            at[r - 2] = org.nd4j.linalg.indexing.NDArrayIndex.all();
            at[r - 1] = org.nd4j.linalg.indexing.NDArrayIndex.all();
            gemmBf16(a.get(at), transA, b.get(at), transB, c.get(at), 1f, 0f);
        }
    }

    /** x's strides (elements) as the operand op(x) reads them: the last two swapped when transposed. */
    private static long[] opStrides(INDArray x, boolean trans) {
        long[] s = x.stride().clone();
        for (long v : s) {
            if (v < 0) {
                throw new IllegalArgumentException("matmulBf16: negative strides are not supported: "
                        + java.util.Arrays.toString(s));
            }
        }
        if (trans) {
            long t = s[s.length - 1];
            s[s.length - 1] = s[s.length - 2];
            s[s.length - 2] = t;
        }
        return s;
    }

    private static void bf16Product(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c,
            float alpha, float beta, boolean batched) {
        Dims d = Dims.of(a, transA, b, transB, c, batched);
        checkBf16Types(a, b, c);
        if (d.trivial(c, beta)) {
            return;
        }
        OneDnnLibrary lib = bf16Route().oneDnn();
        if (lib != null) {
            oneDnn(lib, true, a, transA, b, transB, c, alpha, beta, d.batch(), d.m(), d.n(), d.k());
        } else if (batched) {
            gemmBatched(Bf16Arrays.toFloat(a), transA, Bf16Arrays.toFloat(b), transB, c, alpha, beta);
        } else {
            gemm(Bf16Arrays.toFloat(a), transA, Bf16Arrays.toFloat(b), transB, c, alpha, beta);
        }
    }

    /**
     * C = alpha * op(A) op(B) + beta * C computed by oneDNN directly, for benchmarks and
     * cross-checks: {@code dnnl_sgemm} for FLOAT operands, {@code dnnl_gemm_bf16bf16f32} for
     * BFLOAT16 ones (whatever {@link #bf16Backend()} says). The default fp32 route stays CBLAS.
     *
     * @param a FLOAT or BFLOAT16 [M, K] (or [K, M] if transA); any strides
     * @param b same type as a, [K, N] (or [N, K] if transB)
     * @param c FLOAT [M, N], written in place
     * @throws IllegalArgumentException as for {@link #gemmBf16} (FLOAT operands allowed too)
     * @throws IllegalStateException if oneDNN is not installed
     */
    public static void gemmOneDnn(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c,
            float alpha, float beta) {
        Dims d = Dims.of(a, transA, b, transB, c, false);
        long m = d.m();
        long n = d.n();
        long k = d.k();
        boolean bf16 = a.dataType() == DataType.BFLOAT16;
        if (bf16) {
            checkBf16Types(a, b, c);
        } else {
            checkTypes(a, b, c);
            if (c.dataType() != DataType.FLOAT) {
                throw new IllegalArgumentException("gemmOneDnn: FLOAT or BFLOAT16 operands only, got " + c.dataType());
            }
        }
        OneDnnLibrary lib = Bf16GemmBackends.oneDnn();
        if (lib == null) {
            throw new IllegalStateException("gemmOneDnn: oneDNN (libdnnl.so.2) is not installed or did not load");
        }
        if (d.trivial(c, beta)) {
            return;
        }
        OneDnnLibrary route = bf16Route().oneDnn();
        oneDnn(route != null ? route : lib, bf16, a, transA, b, transB, c, alpha, beta, 1, m, n, k);
    }

    /**
     * oneDNN products on the operands' memory: 2-D (bt = 1, rank 2) or a batch (rank 3), one call
     * per matrix. Operands without a unit stride are copied to C order; a C that has none, that
     * overlaps an operand or whose batch entries overlap goes through a C-ordered temporary.
     */
    private static void oneDnn(OneDnnLibrary lib, boolean bf16, INDArray a, boolean transA, INDArray b,
            boolean transB, INDArray c, float alpha, float beta, long bt, long m, long n, long k) {
        int first = c.rank() - 2;
        Prepared p = Prepared.of(a, b, c, bt, beta);
        a = p.a();
        b = p.b();
        INDArray target = p.target();
        MatrixLayout la = p.la();
        MatrixLayout lb = p.lb();
        MatrixLayout lc = p.lc();
        long wa = a.dataType().width();
        long sa = first == 0 ? 0 : a.stride(0) * wa;
        long sb = first == 0 ? 0 : b.stride(0) * wa;
        long sc = first == 0 ? 0 : target.stride(0) * 4L;
        boolean ta = transA ^ la.colMajor();
        boolean tb = transB ^ lb.colMajor();
        if (bf16 && matmul(lib, a, la, ta, b, lb, tb, target, lc, alpha, beta, bt, m, n, k)) {
            p.finish(c);
            return;
        }
        for (long i = 0; i < bt; i++) {
            long pa = la.address() + i * sa;
            long pb = lb.address() + i * sb;
            long pc = lc.address() + i * sc;
            if (!lc.colMajor()) {
                lib.gemm(bf16, ta, tb, m, n, k, alpha, pa, la.ld(), pb, lb.ld(), beta, pc, lc.ld());
            } else {
                // C^T [N, M] = op(B)^T [N, K] x op(A)^T [K, M]
                lib.gemm(bf16, !tb, !ta, n, m, k, alpha, pb, lb.ld(), pa, la.ld(), beta, pc, lc.ld());
            }
        }
        p.finish(c);
    }

    /**
     * The whole (batched) bf16 product on oneDNN's matmul primitive when the library has it and the
     * product suits it ({@link OneDnnMatmul#suits}); a column-major C runs as C^T = op(B)^T op(A)^T.
     *
     * @return false if the gemm entry point must do it instead
     */
    private static boolean matmul(OneDnnLibrary lib, INDArray a, MatrixLayout la, boolean ta, INDArray b,
            MatrixLayout lb, boolean tb, INDArray target, MatrixLayout lc, float alpha, float beta, long bt, long m,
            long n, long k) {
        int first = target.rank() - 2;
        long sa = first == 0 ? 0 : a.stride(0);
        long sb = first == 0 ? 0 : b.stride(0);
        long sc = first == 0 ? 0 : target.stride(0);
        if (!lc.colMajor()) {
            return OneDnnMatmul.suits(ta, k, alpha, beta)
                    && lib.matmulBf16(bt, m, n, k, ta, tb, la.address(), la.ld(), sa, lb.address(), lb.ld(), sb,
                            lc.address(), lc.ld(), sc);
        }
        return OneDnnMatmul.suits(!tb, k, alpha, beta)
                && lib.matmulBf16(bt, n, m, k, !tb, !ta, lb.address(), lb.ld(), sb, la.address(), la.ld(), sa,
                        lc.address(), lc.ld(), sc);
    }

    // ---- CBLAS path ----

    /**
     * One product: on oneDNN if {@link SgemmBackends}'s rule takes it, else on the CBLAS library; split over the
     * cores by {@link CoreSplit}'s fixed rule (each band a single-threaded call on its own core, same bits as one
     * call), else one call (oneDNN: one thread; CBLAS: the library's own threads).
     */
    private static void cblas(CblasLibrary lib, INDArray a, boolean transA, INDArray b, boolean transB, INDArray c,
            double alpha, double beta, int m, int n, int k) {
        Prepared p = Prepared.of(a, b, c, 1, beta);
        runSplit(lib, gemmCall(p.la(), transA, p.lb(), transB, p.lc(), alpha, beta, m, n, k, 0, 0, 0, c.dataType()));
        p.finish(c);
    }

    /** One whole product on its library, in bands over the cores where {@link CoreSplit} says so. */
    private static void runSplit(CblasLibrary lib, GemmCall whole) {
        OneDnnLibrary oneDnn = sgemmRoute().takes(whole);
        CoreSplit split = coreSplit(lib, whole);
        if (split.parts() == 1) {
            run(whole, lib, oneDnn);
        } else {
            forEachParallel(split.parts(), i -> run(split.band(whole, (int) i), lib, oneDnn));
        }
    }

    /** Runs a product (or band) on oneDNN if given, else on the CBLAS library. */
    private static void run(GemmCall call, CblasLibrary lib, OneDnnLibrary oneDnn) {
        if (oneDnn != null) {
            call.run(oneDnn);
        } else {
            call.run(lib);
        }
    }

    private static void cblasBatched(CblasLibrary lib, INDArray a, boolean transA, INDArray b, boolean transB,
            INDArray c, double alpha, double beta, long bt, int m, int n, int k) {
        Prepared p = Prepared.of(a, b, c, bt, beta);
        long sa = p.a().stride(0);
        long sb = p.b().stride(0);
        long sc = p.target().stride(0);
        DataType type = c.dataType();
        GemmCall first = gemmCall(p.la(), transA, p.lb(), transB, p.lc(), alpha, beta, m, n, k, 0, 0, 0, type);
        if (bt == 1) {
            runSplit(lib, first); // one matrix: as gemm does it
        } else {
            // every entry has the same sizes, so the same library as gemm would pick for one of them
            OneDnnLibrary oneDnn = sgemmRoute().takes(first);
            forEachParallel(bt, i -> run(gemmCall(p.la(), transA, p.lb(), transB, p.lc(), alpha, beta, m, n, k,
                    i * sa, i * sb, i * sc, type), lib, oneDnn));
        }
        p.finish(c);
    }

    /**
     * The matrices of one product as a native library sees them: an operand without a unit stride
     * is copied to C order, and C is replaced by a C-ordered temporary when it has no unit stride,
     * overlaps an operand, or its batch entries overlap one another.
     *
     * @param a the operand A to use (c-ordered copy or the original)
     * @param target where the product is written: C itself or the temporary
     */
    private record Prepared(INDArray a, MatrixLayout la, INDArray b, MatrixLayout lb, INDArray target,
            MatrixLayout lc) {
        static Prepared of(INDArray a, INDArray b, INDArray c, long batch, double beta) {
            int first = c.rank() - 2;
            MatrixLayout la = MatrixLayout.of(a, first);
            if (la == null) {
                a = a.dup('c');
                la = MatrixLayout.of(a, first);
            }
            MatrixLayout lb = MatrixLayout.of(b, first);
            if (lb == null) {
                b = b.dup('c');
                lb = MatrixLayout.of(b, first);
            }
            INDArray target = c;
            MatrixLayout lc = MatrixLayout.of(c, first);
            if (lc == null || overlaps(c, a) || overlaps(c, b) || (batch > 1 && c.stride(0) < matrixSpan(c))) {
                target = beta == 0.0 ? Nd4j.createUninitialized(c.dataType(), c.shape(), 'c') : c.dup('c');
                lc = MatrixLayout.of(target, first);
            }
            return new Prepared(a, la, b, lb, target, lc);
        }

        /** Copies the temporary's product into C (nothing to do when C was written directly). */
        void finish(INDArray c) {
            if (target != c) {
                c.assign(target);
            }
        }
    }

    /**
     * The row-major library call for a product. A column-major operand is the row-major transpose, so its
     * transpose flag flips; a column-major C is handled as C^T = op(B)^T op(A)^T.
     * The element offsets (for batches) are added to the base addresses.
     */
    private static GemmCall gemmCall(MatrixLayout la, boolean transA, MatrixLayout lb, boolean transB,
            MatrixLayout lc, double alpha, double beta, int m, int n, int k, long offA, long offB, long offC,
            DataType type) {
        boolean isDouble = type == DataType.DOUBLE;
        long w = isDouble ? 8 : 4;
        long pa = la.address() + offA * w;
        long pb = lb.address() + offB * w;
        long pc = lc.address() + offC * w;
        boolean ta = transA ^ la.colMajor();
        boolean tb = transB ^ lb.colMajor();
        if (!lc.colMajor()) {
            return new GemmCall(isDouble, ta, tb, m, n, k, alpha, pa, la.ld(), pb, lb.ld(), beta, pc, lc.ld());
        }
        // C^T [N, M] = op(B)^T [N, K] x op(A)^T [K, M]
        return new GemmCall(isDouble, !tb, !ta, n, m, k, alpha, pb, lb.ld(), pa, la.ld(), beta, pc, lc.ld());
    }

    // ---- helpers ----

    private static boolean blasType(INDArray c) {
        return c.dataType() == DataType.FLOAT || c.dataType() == DataType.DOUBLE;
    }

    private static boolean fitsInt(long m, long n, long k) {
        return m <= Integer.MAX_VALUE && n <= Integer.MAX_VALUE && k <= Integer.MAX_VALUE;
    }

    /** True if the memory spans of x and y intersect (conservative: strided gaps count as overlap). */
    private static boolean overlaps(INDArray x, INDArray y) {
        long x0 = NativeArrays.address(x);
        long x1 = x0 + NativeArrays.spanElements(x.shape(), x.stride()) * x.dataType().width();
        long y0 = NativeArrays.address(y);
        long y1 = y0 + NativeArrays.spanElements(y.shape(), y.stride()) * y.dataType().width();
        return x0 < y1 && y0 < x1;
    }

    /** Elements spanned by one matrix of a batch [Bt, rows, cols]: batches closer than this overlap. */
    private static long matrixSpan(INDArray x) {
        return NativeArrays.spanElements(new long[] {x.size(1), x.size(2)}, new long[] {x.stride(1), x.stride(2)});
    }

    private static void scaleInPlace(INDArray c, double beta) {
        if (beta == 0.0) {
            c.assign(0);
        } else if (beta != 1.0) {
            c.muli(beta);
        }
    }

    private static INDArray slice(INDArray x, long i) {
        return x.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all());
    }

    /**
     * The sizes of one product, checked: op(A) [M, K] times op(B) [K, N] into C [M, N], or a batch of
     * Bt such products (all three arrays rank 3 with Bt leading).
     */
    private record Dims(long batch, long m, long n, long k) {
        /** Checks a 2-D product ({@code batched} false) or a batch of them (rank 3, Bt leading). */
        static Dims of(INDArray a, boolean transA, INDArray b, boolean transB, INDArray c, boolean batched) {
            if (batched) {
                check3d("a", a);
                check3d("b", b);
                check3d("c", c);
            } else {
                check2d("a", a);
                check2d("b", b);
                check2d("c", c);
            }
            int o = batched ? 1 : 0; // index of the row dimension
            long bt = batched ? c.size(0) : 1;
            if (batched && (a.size(0) != bt || b.size(0) != bt)) {
                throw new IllegalArgumentException("gemmBatched: batch sizes differ: a " + Arrays.toString(a.shape())
                        + ", b " + Arrays.toString(b.shape()) + ", c " + Arrays.toString(c.shape()));
            }
            long m = transA ? a.size(o + 1) : a.size(o);
            long k = transA ? a.size(o) : a.size(o + 1);
            long kb = transB ? b.size(o + 1) : b.size(o);
            long n = transB ? b.size(o) : b.size(o + 1);
            if (k != kb || c.size(o) != m || c.size(o + 1) != n) {
                throw new IllegalArgumentException("gemm: shapes do not match: op(a) from " + Arrays.toString(a.shape())
                        + (transA ? "^T" : "") + " is [" + m + ", " + k + "], op(b) from " + Arrays.toString(b.shape())
                        + (transB ? "^T" : "") + " is [" + kb + ", " + n + "], c is " + Arrays.toString(c.shape())
                        + " (expected [.., " + m + ", " + n + "] and equal inner sizes)");
            }
            return new Dims(bt, m, n, k);
        }

        /** @return true when nothing is left to multiply: C is empty, or K = 0 (then C = beta C, done here) */
        boolean trivial(INDArray c, double beta) {
            if (batch == 0 || m == 0 || n == 0) {
                return true;
            }
            if (k == 0) {
                scaleInPlace(c, beta);
                return true;
            }
            return false;
        }
    }

    private static void check2d(String name, INDArray x) {
        if (x == null || x.rank() != 2) {
            throw new IllegalArgumentException("gemm: " + name + " must be a 2-D array, got "
                    + (x == null ? "null" : "shape " + Arrays.toString(x.shape())));
        }
    }

    private static void check3d(String name, INDArray x) {
        if (x == null || x.rank() != 3) {
            throw new IllegalArgumentException("gemmBatched: " + name + " must be a 3-D array [Bt, rows, cols], got "
                    + (x == null ? "null" : "shape " + Arrays.toString(x.shape())));
        }
    }

    private static void checkBf16Types(INDArray a, INDArray b, INDArray c) {
        if (a.dataType() != DataType.BFLOAT16 || b.dataType() != DataType.BFLOAT16 || c.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("gemmBf16: expected BFLOAT16 a and b and a FLOAT c, got a "
                    + a.dataType() + ", b " + b.dataType() + ", c " + c.dataType());
        }
    }

    private static void checkTypes(INDArray a, INDArray b, INDArray c) {
        if (a.dataType() != c.dataType() || b.dataType() != c.dataType()) {
            throw new IllegalArgumentException("gemm: data types differ: a " + a.dataType() + ", b " + b.dataType()
                    + ", c " + c.dataType());
        }
        if (!c.dataType().isFPType()) {
            throw new IllegalArgumentException("gemm: data type must be floating point, got " + c.dataType());
        }
    }
}
