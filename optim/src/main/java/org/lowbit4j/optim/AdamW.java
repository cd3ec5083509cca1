package org.lowbit4j.optim;

import java.util.List;
import org.lowbit4j.autograd.Tensor;

/**
 * AdamW with fp32 moments (8 bytes of state per parameter), one fused pass per tensor.
 *
 * <p>Per step t of a parameter: {@code p *= 1 - lr*wd}; {@code m = b1*m + (1-b1)*g};
 * {@code v = b2*v + (1-b2)*g^2}; {@code p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)}.
 */
public final class AdamW extends AdamFamily {
    /**
     * @param params parameters to update (distinct leaves, distinct names)
     * @param config hyperparameters
     */
    public AdamW(List<Tensor> params, AdamWConfig config) {
        this(params, config, UpdateOptions.DEFAULTS);
    }

    /**
     * @param params parameters to update (distinct leaves, distinct names)
     * @param config hyperparameters
     * @param options threads and bf16 rounding
     * @throws IllegalArgumentException on an invalid parameter list
     */
    public AdamW(List<Tensor> params, AdamWConfig config, UpdateOptions options) {
        super(params, config, options, (i, p) -> new Moments.Fp32(elements(p, i)));
    }

    @Override
    String kind() {
        return "AdamW";
    }
}
