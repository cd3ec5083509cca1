package org.lowbit4j.autograd;

/**
 * Whether operations record themselves on the tape, per thread.
 *
 * <pre>{@code
 * try (var scope = GradMode.noGrad()) {
 *     Tensor logits = model.forward(tokens);   // nothing recorded, nothing saved for backward
 * }
 * }</pre>
 */
public final class GradMode {
    private static final ThreadLocal<int[]> DISABLED_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private GradMode() {
    }

    /** @return true unless the current thread is inside a {@link #noGrad()} scope */
    public static boolean isEnabled() {
        return DISABLED_DEPTH.get()[0] == 0;
    }

    /**
     * Opens a scope in which no operation is recorded. Scopes nest; closing restores the outer state.
     *
     * @return the scope; close it (try-with-resources) on the same thread
     */
    public static Scope noGrad() {
        DISABLED_DEPTH.get()[0]++;
        return new Scope();
    }

    /** A no-gradient scope; {@link #close()} ends it. */
    public static final class Scope implements AutoCloseable {
        private boolean closed;

        private Scope() {
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                DISABLED_DEPTH.get()[0]--;
            }
        }
    }
}
