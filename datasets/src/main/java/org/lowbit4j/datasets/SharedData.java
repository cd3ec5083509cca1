package org.lowbit4j.datasets;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the real models and data that tests and examples read from {@code ../shared/data} beside
 * the repository (never copied into it). The directory comes from the system property
 * {@code lowbit4j.sharedData} (Maven's test runs set it to {@code <repo>/../shared/data}).
 */
public final class SharedData {
    /** The system property naming the shared data directory. */
    public static final String PROPERTY = "lowbit4j.sharedData";

    private SharedData() {
    }

    /**
     * @param relative path below the shared data directory, e.g. {@code models/tok512.bin}
     * @return the existing file
     * @throws IllegalStateException if the property is unset or the file is missing: a test that
     *     needs real data fails with this message instead of skipping
     */
    public static Path file(String relative) {
        String root = System.getProperty(PROPERTY);
        if (root == null) {
            throw new IllegalStateException("system property " + PROPERTY
                    + " is not set (Maven's test runs set it to <repo>/../shared/data)");
        }
        Path p = Path.of(root).resolve(relative);
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("missing shared data file " + p.toAbsolutePath()
                    + " (see shared/data/README.md; CI has shared/ beside the clone)");
        }
        return p;
    }
}
