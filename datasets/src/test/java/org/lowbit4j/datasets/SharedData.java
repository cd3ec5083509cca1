package org.lowbit4j.datasets;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates real data under {@code -Dlowbit4j.sharedData}; a missing file fails the test (never skips). */
public final class SharedData {
    private SharedData() {
    }

    /**
     * @param relative path below the shared data directory, e.g. {@code models/tok512.bin}
     * @return the existing file
     */
    public static Path file(String relative) {
        String root = System.getProperty("lowbit4j.sharedData");
        if (root == null) {
            fail("system property lowbit4j.sharedData is not set (surefire sets it to <repo>/../shared/data)");
        }
        Path p = Path.of(root).resolve(relative);
        if (!Files.isRegularFile(p)) {
            fail("missing shared test data file " + p.toAbsolutePath()
                    + " (see shared/data/README.md; CI has shared/ beside the clone)");
        }
        return p;
    }
}
