package org.lowbit4j.mixedprec.fp8;

import java.io.IOException;

/** An FP8 scaling-state file that cannot be loaded: corrupt, or not matching the policy it is loaded into. */
public final class Fp8StateException extends IOException {
    private static final long serialVersionUID = 1L;

    /** @param message names the file, what mismatched, and the expected vs actual value */
    public Fp8StateException(String message) {
        super(message);
    }
}
