package org.lowbit4j.autograd.blas;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Chooses the {@link BlasBackend} that {@link Gemm} uses, once per JVM.
 *
 * <p>The system property {@value #PROPERTY} selects:
 * <ul>
 *   <li>{@code auto} (default): {@code bundled}, else {@code system}, else {@code nd4j}. The
 *       bundled OpenBLAS comes first because it is always there (it ships inside ND4J's jar) and,
 *       measured on a quiet machine (BENCHMARKS.md), called directly it ran 250-310 GFLOP/s where
 *       Debian's libopenblas0-pthread 0.3.21 ran 150-160. NOTE: that was each library on its own
 *       threads; in single-threaded bands ({@link CoreSplit}, what {@link Gemm} runs now) 0.3.21 measured
 *       0.99-1.22x the bundled 0.3.19 per core on the stories15M shapes and 512³-2048³ (thread CPU time,
 *       2026-11-23; up to 1.2x on the weight gradients), so {@code system} is worth a try where oneDNN
 *       ({@link SgemmBackends}) is missing;</li>
 *   <li>{@code system}: the first CBLAS library found in the standard library directories
 *       ({@link #SYSTEM_DIRS}, names {@link #SYSTEM_NAMES}: OpenBLAS first, then BLIS), e.g. Debian's
 *       {@code libopenblas0-pthread};</li>
 *   <li>{@code bundled}: the OpenBLAS that ND4J itself loaded (found in {@code /proc/self/maps}),
 *       called directly instead of through ND4J's op machinery;</li>
 *   <li>{@code nd4j}: {@code Nd4j.gemm};</li>
 *   <li>anything else: a path to a CBLAS shared library with 32-bit integers (LP64, the usual
 *       {@code libopenblas.so.0}; NOT an ILP64 build such as {@code libopenblas64_.so}, whose
 *       64-bit integer arguments this binding does not pass).</li>
 * </ul>
 * A requested library that cannot be loaded is logged at WARN and the next choice of the
 * {@code auto} chain is used: the framework always runs. The choice is logged once at INFO.
 */
public final class BlasBackends {
    /** The selecting system property. */
    public static final String PROPERTY = "lowbit4j.blas";
    /** Directories searched for a system CBLAS, in order. */
    public static final List<String> SYSTEM_DIRS = List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64", "/usr/lib", "/usr/local/lib");
    /** Library file names tried in each directory, in order. */
    public static final List<String> SYSTEM_NAMES = List.of("libopenblas.so.0", "libopenblas.so", "libblis.so.4",
            "libblis.so");

    private static final Logger LOG = LogManager.getLogger(BlasBackends.class);

    private BlasBackends() {
    }

    /**
     * Resolves the backend for a property value (without caching or the INFO log line).
     *
     * @param setting a value of {@value #PROPERTY}; null means {@code auto}
     * @return the backend to use; never null
     */
    static BlasBackend resolve(String setting) {
        String s = setting == null || setting.isBlank() ? "auto" : setting.strip();
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "nd4j" -> Nd4jBlas.INSTANCE;
            case "auto" -> auto();
            case "system" -> orElseAuto(system(), "system");
            case "bundled" -> orElseAuto(bundled(), "bundled");
            default -> {
                try {
                    yield CblasLibrary.load("path", s);
                } catch (IllegalArgumentException e) {
                    LOG.warn("{}={}: {}; falling back", PROPERTY, s, e.getMessage());
                    yield auto();
                }
            }
        };
    }

    private static BlasBackend orElseAuto(CblasLibrary lib, String what) {
        if (lib != null) {
            return lib;
        }
        LOG.warn("{}={} requested but no such CBLAS library was found; falling back", PROPERTY, what);
        return auto();
    }

    private static BlasBackend auto() {
        CblasLibrary lib = bundled();
        if (lib == null) {
            lib = system();
        }
        return lib != null ? lib : Nd4jBlas.INSTANCE;
    }

    private static CblasLibrary systemLib;
    private static boolean systemSearched;
    private static CblasLibrary bundledLib;
    private static boolean bundledSearched;

    /**
     * The CBLAS libraries this machine offers, each loaded once per JVM: the system one (if
     * installed) and ND4J's bundled OpenBLAS (if found). Benchmarks compare them side by side.
     *
     * @return system first, then bundled; possibly empty
     */
    public static List<BlasBackend> cblasLibraries() {
        List<BlasBackend> out = new ArrayList<>();
        if (system() != null) {
            out.add(system());
        }
        if (bundled() != null) {
            out.add(bundled());
        }
        return out;
    }

    /** @return the first loadable system CBLAS (cached), or null */
    static synchronized CblasLibrary system() {
        if (!systemSearched) {
            systemLib = findSystem();
            systemSearched = true;
        }
        return systemLib;
    }

    /** @return ND4J's own OpenBLAS bound directly (cached), or null if it cannot be found */
    static synchronized CblasLibrary bundled() {
        if (!bundledSearched) {
            bundledLib = findBundled();
            bundledSearched = true;
        }
        return bundledLib;
    }

    private static CblasLibrary findSystem() {
        for (String dir : SYSTEM_DIRS) {
            for (String name : SYSTEM_NAMES) {
                Path p = Path.of(dir, name);
                if (Files.isReadable(p)) {
                    try {
                        return CblasLibrary.load("system", p.toRealPath().toString());
                    } catch (IllegalArgumentException | IOException e) {
                        LOG.debug("skipping {}: {}", p, e.getMessage());
                    }
                }
            }
        }
        return null;
    }

    private static CblasLibrary findBundled() {
        Nd4j.getBackend(); // make sure ND4J has loaded its natives
        for (String path : mappedLibraries()) {
            String file = path.substring(path.lastIndexOf('/') + 1);
            if (file.startsWith("libopenblas") && !file.contains("jni") && !isSystemPath(path)) {
                try {
                    return CblasLibrary.load("bundled", path);
                } catch (IllegalArgumentException e) {
                    LOG.debug("skipping {}: {}", path, e.getMessage());
                }
            }
        }
        return null;
    }

    private static boolean isSystemPath(String path) {
        return SYSTEM_DIRS.stream().anyMatch(d -> path.startsWith(d + "/"));
    }

    /** Shared libraries mapped into this process, in /proc/self/maps order (empty where there is no procfs). */
    private static List<String> mappedLibraries() {
        List<String> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash > 0 && line.contains(".so")) {
                    String p = line.substring(slash).strip();
                    if (!out.contains(p)) {
                        out.add(p);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot read /proc/self/maps: {}", e.getMessage());
        }
        return out;
    }
}
