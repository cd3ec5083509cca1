package org.lowbit4j.optim;

/**
 * SGD hyperparameters, with PyTorch's meaning and defaults.
 *
 * @param lr learning rate (default 1e-3), finite and >= 0
 * @param momentum momentum factor (default 0: plain SGD), in [0, 1]
 * @param dampening dampening of the momentum (default 0), in [0, 1]
 * @param weightDecay L2 penalty added to the gradient (default 0), finite and >= 0
 * @param nesterov Nesterov momentum (default false); needs momentum > 0 and dampening 0
 */
public record SgdConfig(double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
    /** lr 1e-3, no momentum, no dampening, no weight decay, no Nesterov. */
    public static final SgdConfig DEFAULTS = new SgdConfig(1e-3, 0, 0, 0, false);

    /** @throws IllegalArgumentException naming the field with a value out of range */
    public SgdConfig {
        Checks.nonNegative("lr", lr);
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1], got " + momentum);
        }
        if (!(dampening >= 0 && dampening <= 1)) {
            throw new IllegalArgumentException("dampening must be in [0, 1], got " + dampening);
        }
        Checks.nonNegative("weightDecay", weightDecay);
        if (nesterov && (momentum == 0 || dampening != 0)) {
            throw new IllegalArgumentException("nesterov needs momentum > 0 and dampening 0, got momentum "
                    + momentum + ", dampening " + dampening);
        }
    }

    /** @return a copy with another learning rate */
    public SgdConfig withLr(double newLr) {
        return new SgdConfig(newLr, momentum, dampening, weightDecay, nesterov);
    }

    /** @return a copy with momentum (and optionally Nesterov) */
    public SgdConfig withMomentum(double newMomentum, boolean newNesterov) {
        return new SgdConfig(lr, newMomentum, dampening, weightDecay, newNesterov);
    }

    /** @return a copy with another weight decay */
    public SgdConfig withWeightDecay(double newWeightDecay) {
        return new SgdConfig(lr, momentum, dampening, newWeightDecay, nesterov);
    }

    /** @return a copy with another dampening */
    public SgdConfig withDampening(double newDampening) {
        return new SgdConfig(lr, momentum, newDampening, weightDecay, nesterov);
    }
}
