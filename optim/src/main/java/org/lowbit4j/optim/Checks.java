package org.lowbit4j.optim;

/** Argument checks shared by the configuration records. */
final class Checks {
    private Checks() {
    }

    static void nonNegative(String field, double value) {
        if (!(value >= 0 && Double.isFinite(value))) {
            throw new IllegalArgumentException(field + " must be finite and >= 0, got " + value);
        }
    }
}
