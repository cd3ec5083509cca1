package org.lowbit4j.mixedprec;

/**
 * Settings of a {@link LossScaler}. The defaults ({@link #dynamicDefaults()}) are PyTorch's {@code GradScaler}'s:
 * initial scale 2^16, doubled after 2000 consecutive steps with finite gradients, halved (and the step skipped) on
 * an inf/NaN gradient.
 *
 * @param dynamic whether the scale adapts (true) or stays at {@code initialScale} (false; overflowing steps are still
 *     skipped)
 * @param initialScale the first scale, finite and &gt; 0
 * @param growthFactor multiplier after {@code growthInterval} clean steps, &gt; 1 (used only when dynamic)
 * @param backoffFactor multiplier after an overflow, in (0, 1) (used only when dynamic)
 * @param growthInterval consecutive clean steps before growing, &ge; 1
 */
public record LossScalerConfig(boolean dynamic, double initialScale, double growthFactor, double backoffFactor,
        int growthInterval) {

    /**
     * @throws IllegalArgumentException for a value outside its documented range
     */
    public LossScalerConfig {
        if (!(initialScale > 0) || Double.isInfinite(initialScale)) {
            throw new IllegalArgumentException("loss scaler initialScale must be finite and > 0, got " + initialScale);
        }
        if (!(growthFactor > 1) || Double.isInfinite(growthFactor)) {
            throw new IllegalArgumentException("loss scaler growthFactor must be finite and > 1, got " + growthFactor);
        }
        if (!(backoffFactor > 0 && backoffFactor < 1)) {
            throw new IllegalArgumentException("loss scaler backoffFactor must be in (0, 1), got " + backoffFactor);
        }
        if (growthInterval < 1) {
            throw new IllegalArgumentException("loss scaler growthInterval must be >= 1, got " + growthInterval);
        }
    }

    /** @return dynamic scaling with PyTorch's defaults (2^16, x2 per 2000 clean steps, x0.5 on overflow) */
    public static LossScalerConfig dynamicDefaults() {
        return new LossScalerConfig(true, 65536.0, 2.0, 0.5, 2000);
    }

    /**
     * @param scale the fixed scale, finite and &gt; 0 (1 disables scaling but still skips overflowing steps)
     * @return static scaling
     */
    public static LossScalerConfig fixed(double scale) {
        return new LossScalerConfig(false, scale, 2.0, 0.5, 2000);
    }
}
