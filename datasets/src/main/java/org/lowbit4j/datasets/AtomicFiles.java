package org.lowbit4j.datasets;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Writes a file through a temporary sibling and an atomic rename, so readers never see half a file. */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Body of a write into the temporary file. */
    @FunctionalInterface
    public interface Writer {
        /**
         * @param out the temporary file's stream (closed by the caller)
         * @throws IOException on a write error
         */
        void write(OutputStream out) throws IOException;
    }

    /**
     * Writes {@code file} atomically: the bytes go to a temporary file in the same directory,
     * which then replaces {@code file} in one rename. On failure the temporary file is deleted and
     * {@code file} is untouched.
     *
     * @param file target path; its parent directory is created if missing
     * @param body writes the content
     * @throws IOException on a write or rename error
     */
    public static void write(Path file, Writer body) throws IOException {
        var abs = file.toAbsolutePath();
        var dir = abs.getParent();
        Files.createDirectories(dir);
        var tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        try {
            try (var out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp))) {
                body.write(out);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
