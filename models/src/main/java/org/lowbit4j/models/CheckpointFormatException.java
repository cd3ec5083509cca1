package org.lowbit4j.models;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint file that cannot be read: truncated, a header whose sizes disagree with the file
 * length, out-of-range fields. The message names the file and the expected versus actual value.
 */
public final class CheckpointFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * @param file the offending file
     * @param message what was expected and what was found
     */
    public CheckpointFormatException(Path file, String message) {
        super(file + ": " + message);
    }

    /**
     * @param file the offending file
     * @param message what was expected and what was found
     * @param cause the underlying validation error
     */
    public CheckpointFormatException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
    }
}
