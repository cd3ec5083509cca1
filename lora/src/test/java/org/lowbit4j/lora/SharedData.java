package org.lowbit4j.lora;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/** Real data under {@code -Dlowbit4j.sharedData}; a missing file fails the test (never skips). */
final class SharedData {
    private SharedData() {
    }

    static Path file(String relative) {
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

    static Path model() {
        return file("models/stories260K.bin");
    }

    static Path tokenizer() {
        return file("models/tok512.bin");
    }
}
