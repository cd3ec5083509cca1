package org.lowbit4j.autograd.blas;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Chooses how {@link Gemm#gemmBf16} multiplies bf16 matrices, once per JVM.
 *
 * <p>The system property {@value #PROPERTY} selects:
 * <ul>
 *   <li>{@code auto} (default): oneDNN's {@code dnnl_gemm_bf16bf16f32} when {@code libdnnl.so.2}
 *       is installed (Debian/Ubuntu package {@code libdnnl2}) AND the CPU has native bf16
 *       arithmetic ({@code avx512_bf16} or {@code amx_bf16} in {@code /proc/cpuinfo}); else the
 *       fallback. Without those instructions oneDNN emulates bf16 and is no faster than fp32;</li>
 *   <li>{@code onednn}: oneDNN whenever it loads, whatever the CPU (falls back, with a WARN, if it
 *       cannot be loaded);</li>
 *   <li>{@code onednn-gemm}: as {@code onednn}, but every product on {@code dnnl_gemm_bf16bf16f32}, never on
 *       the matmul primitive ({@link OneDnnMatmul}; for comparisons);</li>
 *   <li>{@code fallback}: widen both operands to fp32 (exact) and call the fp32 {@link Gemm#gemm}.</li>
 * </ul>
 * {@value #THREADS_PROPERTY} sets the OpenMP threads oneDNN uses per call (see {@link OneDnnLibrary}
 * for why it must be set explicitly). The default is the number of available processors, as for the
 * fp32 GEMM (OpenBLAS uses every core).
 *
 * <p>NOTE: on the 2-vCPU development machine two threads were worth about 1.75x when the machine was
 * quiet (the BF16 training step: 0.86x of fp32 with two threads against 0.98x with one), but whenever
 * the other vCPU was busy (a second build, the JIT) oneDNN's OpenMP barriers stalled and two threads ran
 * 2-10x SLOWER than one ({@code ./lowbit4j bench gemm --bf16}: 23-67 vs 250-470 GFLOP/s at load 6).
 * On a shared, loaded machine set {@code -Dlowbit4j.bf16gemm.threads=1}.
 */
public final class Bf16GemmBackends {
    /** The selecting system property. */
    public static final String PROPERTY = "lowbit4j.bf16gemm";
    /** OpenMP threads per oneDNN call. */
    public static final String THREADS_PROPERTY = "lowbit4j.bf16gemm.threads";
    /** Library file names tried in each of {@link BlasBackends#SYSTEM_DIRS}, in order. */
    public static final List<String> ONEDNN_NAMES = List.of("libdnnl.so.2", "libdnnl.so.3", "libdnnl.so");

    private static final Logger LOG = LogManager.getLogger(Bf16GemmBackends.class);
    private static OneDnnLibrary oneDnn;
    private static boolean searched;

    private Bf16GemmBackends() {
    }

    /**
     * Resolves the bf16 backend for a property value (without caching or the INFO log line).
     *
     * @param setting a value of {@value #PROPERTY}; null means {@code auto}
     * @return oneDNN, or null for the widening fallback
     */
    static OneDnnLibrary resolve(String setting) {
        String s = setting == null || setting.isBlank() ? "auto" : setting.strip().toLowerCase(Locale.ROOT);
        switch (s) {
            case "fallback":
                return null;
            case "onednn", "onednn-gemm": {
                OneDnnLibrary lib = oneDnn();
                if (lib == null) {
                    LOG.warn("{}={} requested but libdnnl was not found or did not load; using the fp32 fallback",
                            PROPERTY, s);
                }
                return lib == null || s.equals("onednn") ? lib : lib.withoutMatmul();
            }
            case "auto":
                return cpuHasBf16() ? oneDnn() : null;
            default:
                LOG.warn("{}={}: unknown value (expected auto, onednn or fallback); using auto", PROPERTY, setting);
                return cpuHasBf16() ? oneDnn() : null;
        }
    }

    /** @return the oneDNN library (cached; loaded and checked once), or null if it is missing or broken */
    static synchronized OneDnnLibrary oneDnn() {
        if (!searched) {
            oneDnn = findOneDnn();
            if (oneDnn != null && oneDnn.matmul() != null) {
                try {
                    selfTest(oneDnn, true);
                } catch (IllegalStateException e) {
                    LOG.warn("oneDNN matmul primitive failed its self-test ({}); using dnnl_gemm_bf16bf16f32 only",
                            e.getMessage());
                    oneDnn = oneDnn.withoutMatmul();
                }
            }
            searched = true;
        }
        return oneDnn;
    }

    /** @return the OpenMP threads per oneDNN call: {@value #THREADS_PROPERTY}, else the available processors */
    static int threads() {
        String t = System.getProperty(THREADS_PROPERTY);
        if (t != null && !t.isBlank()) {
            try {
                int n = Integer.parseInt(t.strip());
                if (n >= 1) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // fall through to the warning
            }
            LOG.warn("{}={}: expected a positive integer; using the available processors", THREADS_PROPERTY, t);
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /** @return true if /proc/cpuinfo lists native bf16 dot products (AVX512-BF16 or AMX-BF16) */
    static boolean cpuHasBf16() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    List<String> flags = List.of(line.substring(line.indexOf(':') + 1).strip().split("\\s+"));
                    return flags.contains("avx512_bf16") || flags.contains("amx_bf16");
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot read /proc/cpuinfo: {}", e.getMessage());
        }
        return false;
    }

    private static OneDnnLibrary findOneDnn() {
        // NOTE: ND4J must load its libgomp.so.1 first, so that oneDNN binds to that one OpenMP runtime
        // instead of bringing the system's copy in beside it (see OpenMp).
        Nd4j.getBackend();
        for (String dir : BlasBackends.SYSTEM_DIRS) {
            for (String name : ONEDNN_NAMES) {
                Path p = Path.of(dir, name);
                if (Files.isReadable(p)) {
                    OneDnnLibrary lib;
                    try {
                        lib = OneDnnLibrary.load(p.toRealPath(), threads());
                    } catch (IllegalArgumentException | IOException e) {
                        LOG.warn("skipping oneDNN {}: {}", p, e.getMessage());
                        continue;
                    }
                    try {
                        selfTest(lib, false);
                        return lib;
                    } catch (IllegalStateException e) {
                        // expected on CPUs without AVX-512 (oneDNN 2.x has no bf16 GEMM there): not a warning
                        LOG.info("oneDNN {} cannot multiply bf16 on this CPU ({}); not using it", p, e.getMessage());
                    }
                }
            }
        }
        return null;
    }

    /**
     * A 2x2x2 product on known values, so that a library whose signature differs (another major
     * version) is rejected at load time instead of corrupting memory later.
     *
     * @param matmul test the matmul primitive instead of the gemm entry point
     * @throws IllegalStateException if the result is wrong or the call fails
     */
    private static void selfTest(OneDnnLibrary lib, boolean matmul) {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var a = arena.allocate(8, 8);
            var b = arena.allocate(8, 8);
            var c = arena.allocate(16, 8);
            short[] av = {0x3F80, 0x4000, 0x4040, 0x4080}; // 1 2 3 4
            short[] bv = {0x40A0, 0x40C0, 0x40E0, 0x4100}; // 5 6 7 8
            for (int i = 0; i < 4; i++) {
                a.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, av[i]);
                b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, bv[i]);
                c.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, Float.NaN);
            }
            if (matmul) {
                if (!lib.matmulBf16(1, 2, 2, 2, false, false, a.address(), 2, 0, b.address(), 2, 0, c.address(), 2, 0)) {
                    throw new IllegalStateException("no matmul implementation for a 2x2 bf16 product");
                }
            } else {
                lib.gemm(true, false, false, 2, 2, 2, 1f, a.address(), 2, b.address(), 2, 0f, c.address(), 2);
            }
            float[] want = {19, 22, 43, 50};
            for (int i = 0; i < 4; i++) {
                if (c.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i) != want[i]) {
                    throw new IllegalStateException("self-test product is wrong at " + i + ": "
                            + c.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i) + " instead of " + want[i]);
                }
            }
        }
    }
}
