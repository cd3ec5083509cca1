package org.lowbit4j.datasets;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A data file (tokenizer, instruction set, text corpus) whose content does not match its format.
 * The message always names the file and the place (token index, record index or line) and states
 * what was expected and what was found.
 */
public final class MalformedDataException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;

    /**
     * @param file the offending file (may be null for in-memory data)
     * @param detail where and what: expected vs actual
     */
    public MalformedDataException(Path file, String detail) {
        super((file == null ? "<memory>" : file.toString()) + ": " + detail);
        this.file = file;
    }

    /**
     * @param file the offending file (may be null for in-memory data)
     * @param detail where and what: expected vs actual
     * @param cause the underlying parser error
     */
    public MalformedDataException(Path file, String detail, Throwable cause) {
        super((file == null ? "<memory>" : file.toString()) + ": " + detail, cause);
        this.file = file;
    }

    /** @return the offending file, or null for in-memory data */
    public Path file() {
        return file;
    }
}
