package org.lowbit4j.autograd.blas;

import java.util.Locale;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Chooses, once per JVM, where {@link Gemm} sends its large fp32 products: oneDNN's {@code dnnl_sgemm}
 * or the CBLAS library of {@link BlasBackends}. Double products, and fp32 products below
 * {@link #MIN_MULTIPLY_ADDS}, always go to the CBLAS library.
 *
 * <p>Which products oneDNN takes is a fixed rule on their sizes and transposes ({@link #suits}), never
 * a timing, so runs are reproducible. The system property {@value #PROPERTY} selects:
 * <ul>
 *   <li>{@code auto} (default): oneDNN where it is installed and usable ({@code libdnnl.so.2}, loaded and
 *       checked as for bf16 products by {@link Bf16GemmBackends}, which needs an AVX-512 CPU), else
 *       CBLAS. Measured per core on the bands {@link CoreSplit} cuts (thread CPU time, so the load of
 *       other jobs hardly matters; 2026-11-23, Sapphire Rapids): oneDNN 2.6's sgemm ran 0.93-1.25x numpy's
 *       OpenBLAS 0.3.31 on the stories15M shapes and 512³-2048³ (mostly 1.05-1.2x; all but the
 *       classifier's weight gradient, see {@link #TALL_TRANSPOSED_RATIO}), where ND4J's bundled OpenBLAS
 *       0.3.19 ran 0.78-1.03x (0.81-0.94x on the weight gradients);</li>
 *   <li>{@code onednn}: the same, with a WARN line if oneDNN is missing;</li>
 *   <li>{@code blas}: every product on the CBLAS library.</li>
 * </ul>
 * The choice is logged once at INFO. NOTE: oneDNN and OpenBLAS sum in different orders, so fp32
 * results (bits, not accuracy) depend on whether oneDNN is installed; on one machine they are the same
 * on every run and for any thread count ({@link CoreSplit}).
 */
public final class SgemmBackends {
    /** The selecting system property. */
    public static final String PROPERTY = "lowbit4j.sgemm";
    /**
     * fp32 products with at least this many multiply-adds (M·N·K) go to oneDNN; smaller ones, e.g.
     * attention's per-head 256 x 256 x 48 products, stay on the CBLAS library, where they were measured.
     * Decided on the whole product, never on a band of it, so all its bands use one library.
     */
    public static final long MIN_MULTIPLY_ADDS = 1L << 22;

    private static final Logger LOG = LogManager.getLogger(SgemmBackends.class);
    private static OneDnnLibrary checkedOneDnn;
    private static boolean checkDone;

    private SgemmBackends() {
    }

    /**
     * Resolves the route for a property value (without caching or the INFO log line).
     *
     * @param setting a value of {@value #PROPERTY}; null means {@code auto}
     * @return oneDNN set to one OpenMP thread per call (the bands of a product each get a core of their
     *     own), or null for the CBLAS library
     */
    static OneDnnLibrary resolve(String setting) {
        String s = setting == null || setting.isBlank() ? "auto" : setting.strip().toLowerCase(Locale.ROOT);
        switch (s) {
            case "blas":
                return null;
            case "auto", "onednn": {
                OneDnnLibrary lib = oneDnn();
                if (lib == null && s.equals("onednn")) {
                    LOG.warn("{}={} requested but oneDNN was not found or did not load; using the CBLAS library",
                            PROPERTY, s);
                }
                return lib;
            }
            default:
                LOG.warn("{}={}: unknown value (expected auto, onednn or blas); using auto", PROPERTY, setting);
                return oneDnn();
        }
    }

    /** @return oneDNN at one thread per call, loaded and checked once per JVM, or null if missing or broken */
    private static synchronized OneDnnLibrary oneDnn() {
        if (!checkDone) {
            checkedOneDnn = checked(Bf16GemmBackends.oneDnn());
            checkDone = true;
        }
        return checkedOneDnn;
    }

    /**
     * Products with a transposed A and a C at least this many times taller than wide stay on the CBLAS
     * library. NOTE: measured (thread CPU time per band, 2 bands): there oneDNN 2.6's sgemm ran 0.74-0.95x
     * OpenBLAS 0.3.19 (the classifier's weight gradient [2048, 32000]^T x [2048, 288]: 0.85-0.95x, also
     * below numpy's OpenBLAS), while on every other shape tried it ran 0.95-4.6x (the other stories15M
     * shapes and 512³-2048³ 1.0-1.4x, thin LoRA-like products 1.2-4.6x).
     */
    public static final int TALL_TRANSPOSED_RATIO = 8;

    /**
     * The fixed rule, on the library call's own sizes (after a column-major C is turned into C^T).
     *
     * @param call a product about to run
     * @return true if it goes to oneDNN when oneDNN is the route: fp32, at least {@link #MIN_MULTIPLY_ADDS}
     *     multiply-adds, and not a transposed A with M >= {@link #TALL_TRANSPOSED_RATIO} N
     */
    static boolean suits(GemmCall call) {
        return !call.isDouble() && (long) call.m() * call.n() * call.k() >= MIN_MULTIPLY_ADDS
                && !(call.transA() && call.m() >= (long) TALL_TRANSPOSED_RATIO * call.n());
    }

    /** @return lib at one thread per call if its dnnl_sgemm multiplies a known product right, else null */
    private static OneDnnLibrary checked(OneDnnLibrary lib) {
        if (lib == null) {
            return null;
        }
        OneDnnLibrary one = lib.withThreads(1);
        try {
            selfTest(one);
            return one;
        } catch (IllegalStateException e) {
            LOG.warn("oneDNN's dnnl_sgemm failed its self-test ({}); fp32 products stay on the CBLAS library",
                    e.getMessage());
            return null;
        }
    }

    /**
     * [1 2; 3 4] x [5 6; 7 8]^T = [17 23; 39 53] with alpha 1, beta 0 over a NaN-filled C, so that a
     * library whose signature differs is rejected at load time instead of corrupting memory later.
     *
     * @throws IllegalStateException if the result is wrong or the call fails
     */
    private static void selfTest(OneDnnLibrary lib) {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var f = java.lang.foreign.ValueLayout.JAVA_FLOAT;
            var a = arena.allocate(16, 16);
            var b = arena.allocate(16, 16);
            var c = arena.allocate(16, 16);
            float[] av = {1, 2, 3, 4};
            float[] bv = {5, 6, 7, 8};
            for (int i = 0; i < 4; i++) {
                a.setAtIndex(f, i, av[i]);
                b.setAtIndex(f, i, bv[i]);
                c.setAtIndex(f, i, Float.NaN);
            }
            new GemmCall(false, false, true, 2, 2, 2, 1.0, a.address(), 2, b.address(), 2, 0.0, c.address(), 2)
                    .run(lib);
            float[] expected = {17, 23, 39, 53};
            for (int i = 0; i < 4; i++) {
                if (c.getAtIndex(f, i) != expected[i]) {
                    throw new IllegalStateException("element " + i + " is " + c.getAtIndex(f, i) + ", expected "
                            + expected[i]);
                }
            }
        } catch (RuntimeException e) {
            throw e instanceof IllegalStateException ise ? ise : new IllegalStateException(e.getMessage(), e);
        }
    }
}
