package org.lowbit4j.optim;

/**
 * How an optimizer executes its updates (never what it computes: results do not depend on the threads).
 *
 * @param threads threads a large tensor's update is split over (default: all available processors); >= 1
 * @param stochasticRounding round parameters stored in bf16 stochastically instead of to nearest-even
 *     (default false); float32 parameters are unaffected
 * @param seed seed of the stochastic-rounding bits (default 0); the bits are a function of (seed, step,
 *     parameter index, element), so saved and reloaded runs continue identically
 */
public record UpdateOptions(int threads, boolean stochasticRounding, long seed) {
    /** All processors, nearest rounding, seed 0. */
    public static final UpdateOptions DEFAULTS =
            new UpdateOptions(Runtime.getRuntime().availableProcessors(), false, 0L);

    /** @throws IllegalArgumentException if threads < 1 */
    public UpdateOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }

    /** @return a copy with another thread count */
    public UpdateOptions withThreads(int n) {
        return new UpdateOptions(n, stochasticRounding, seed);
    }

    /** @return a copy with stochastic rounding of bf16 parameters on, using {@code newSeed} */
    public UpdateOptions withStochasticRounding(long newSeed) {
        return new UpdateOptions(threads, true, newSeed);
    }
}
