package org.lowbit4j.optim;

/**
 * A learning rate as a pure function of the step number (0-based: the rate for the step about to run).
 *
 * <p>Warm-up is linear from 0 at step 0 to the peak at step {@code warmupSteps}; the decay runs from the peak
 * at step {@code warmupSteps} to {@code minLr} at step {@code totalSteps}, and stays there after.
 */
public sealed interface LrSchedule {
    /**
     * @param step step number, >= 0
     * @return the learning rate for that step
     * @throws IllegalArgumentException for a negative step
     */
    double lr(long step);

    private static void checkStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
    }

    private static void check(double maxLr, double minLr, long warmupSteps, long totalSteps) {
        Checks.nonNegative("maxLr", maxLr);
        Checks.nonNegative("minLr", minLr);
        if (minLr > maxLr) {
            throw new IllegalArgumentException("minLr " + minLr + " must not exceed maxLr " + maxLr);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmupSteps must be >= 0, got " + warmupSteps);
        }
        if (totalSteps < warmupSteps || totalSteps < 1) {
            throw new IllegalArgumentException("totalSteps must be >= max(1, warmupSteps = " + warmupSteps
                    + "), got " + totalSteps);
        }
    }

    /** Linear warm-up fraction at {@code step < warmupSteps}. */
    private static double warmup(double maxLr, long step, long warmupSteps) {
        return maxLr * step / warmupSteps;
    }

    /**
     * The same rate at every step.
     *
     * @param lr the rate, finite and >= 0
     */
    record Constant(double lr) implements LrSchedule {
        /** @throws IllegalArgumentException for a negative or non-finite rate */
        public Constant {
            Checks.nonNegative("lr", lr);
        }

        @Override
        public double lr(long step) {
            checkStep(step);
            return lr;
        }
    }

    /**
     * Linear warm-up, then cosine decay: {@code minLr + (maxLr - minLr) * (1 + cos(pi * progress)) / 2} with
     * {@code progress = (step - warmupSteps) / (totalSteps - warmupSteps)}.
     *
     * @param maxLr peak rate (default use: the AdamW lr), >= minLr
     * @param minLr final rate, >= 0 (often maxLr / 10)
     * @param warmupSteps warm-up length, >= 0 (0: start at the peak)
     * @param totalSteps step at which the decay reaches minLr, >= max(1, warmupSteps)
     */
    record WarmupCosine(double maxLr, double minLr, long warmupSteps, long totalSteps) implements LrSchedule {
        /** @throws IllegalArgumentException naming the field out of range */
        public WarmupCosine {
            check(maxLr, minLr, warmupSteps, totalSteps);
        }

        @Override
        public double lr(long step) {
            checkStep(step);
            if (step < warmupSteps) {
                return warmup(maxLr, step, warmupSteps);
            }
            if (step >= totalSteps) {
                return minLr;
            }
            double progress = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
            return minLr + (maxLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
        }
    }

    /**
     * Linear warm-up, then linear decay to {@code minLr} at {@code totalSteps}.
     *
     * @param maxLr peak rate, >= minLr
     * @param minLr final rate, >= 0
     * @param warmupSteps warm-up length, >= 0
     * @param totalSteps step at which the decay reaches minLr, >= max(1, warmupSteps)
     */
    record WarmupLinear(double maxLr, double minLr, long warmupSteps, long totalSteps) implements LrSchedule {
        /** @throws IllegalArgumentException naming the field out of range */
        public WarmupLinear {
            check(maxLr, minLr, warmupSteps, totalSteps);
        }

        @Override
        public double lr(long step) {
            checkStep(step);
            if (step < warmupSteps) {
                return warmup(maxLr, step, warmupSteps);
            }
            if (step >= totalSteps) {
                return minLr;
            }
            double progress = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
            return maxLr + (minLr - maxLr) * progress;
        }
    }
}
