package org.lowbit4j.optim;

import java.io.IOException;

/** An optimizer state file that cannot be loaded: corrupt, or not matching the optimizer it is loaded into. */
public final class StateFileException extends IOException {
    private static final long serialVersionUID = 1L;

    /** @param message names the file, the field and the expected vs actual value */
    public StateFileException(String message) {
        super(message);
    }
}
