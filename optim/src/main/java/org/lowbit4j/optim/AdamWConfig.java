package org.lowbit4j.optim;

/**
 * AdamW hyperparameters; {@link #DEFAULTS} are PyTorch's.
 *
 * @param lr learning rate (default 1e-3), finite and >= 0
 * @param beta1 first-moment decay (default 0.9), in [0, 1)
 * @param beta2 second-moment decay (default 0.999), in [0, 1)
 * @param eps denominator guard (default 1e-8), finite and > 0
 * @param weightDecay decoupled weight decay (default 0.01), finite and >= 0
 */
public record AdamWConfig(double lr, double beta1, double beta2, double eps, double weightDecay) {
    /** PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01. */
    public static final AdamWConfig DEFAULTS = new AdamWConfig(1e-3, 0.9, 0.999, 1e-8, 0.01);

    /** @throws IllegalArgumentException naming the field with a value out of range */
    public AdamWConfig {
        Checks.nonNegative("lr", lr);
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        }
        if (!(eps > 0 && Double.isFinite(eps))) {
            throw new IllegalArgumentException("eps must be finite and > 0, got " + eps);
        }
        Checks.nonNegative("weightDecay", weightDecay);
    }

    /** @return a copy with another learning rate */
    public AdamWConfig withLr(double newLr) {
        return new AdamWConfig(newLr, beta1, beta2, eps, weightDecay);
    }

    /** @return a copy with other betas */
    public AdamWConfig withBetas(double newBeta1, double newBeta2) {
        return new AdamWConfig(lr, newBeta1, newBeta2, eps, weightDecay);
    }

    /** @return a copy with another weight decay */
    public AdamWConfig withWeightDecay(double newWeightDecay) {
        return new AdamWConfig(lr, beta1, beta2, eps, newWeightDecay);
    }

    /** @return a copy with another eps */
    public AdamWConfig withEps(double newEps) {
        return new AdamWConfig(lr, beta1, beta2, newEps, weightDecay);
    }
}
