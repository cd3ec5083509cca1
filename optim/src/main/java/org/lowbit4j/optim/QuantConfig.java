package org.lowbit4j.optim;

import java.util.Set;

/**
 * Which parameters of {@link AdamW8bit} / {@link AdamW4bit} keep fp32 moments, and how AdamW8bit rounds its
 * second moment.
 *
 * @param minQuantizedSize tensors with fewer elements keep fp32 state (default 4096, as bitsandbytes'
 *     {@code min_8bit_size}); >= 1
 * @param fp32StateParams names of parameters that keep fp32 state whatever their size (default none), e.g.
 *     the token embedding, as bitsandbytes' {@code StableEmbedding}; each must name a parameter
 * @param nonzeroSecondMoment AdamW8bit only (default true): a positive second moment below the unsigned map's
 *     first midpoint (about 1.6e-7 of its block's maximum) is stored as the smallest positive code, not as 0.
 *     NOTE: with bitsandbytes' plain nearest rounding ({@code false}) such an element decodes to v = 0 while
 *     its first moment (whose map reaches lower, relative to its own maximum) does not; on a step where its
 *     gradient is 0 (an embedding row whose token is not in the batch) the update becomes m / eps, about 10^4
 *     times the learning rate. This is the zero-point problem Li et al. fix in the 4-bit map; AdamW4bit's
 *     second-moment map has no zero, so the flag does not apply to it.
 */
public record QuantConfig(int minQuantizedSize, Set<String> fp32StateParams, boolean nonzeroSecondMoment) {
    /** Threshold 4096, no overrides, nonzero second moments. */
    public static final QuantConfig DEFAULTS = new QuantConfig(4096, Set.of(), true);

    /** @throws IllegalArgumentException for a threshold below 1 or a null set */
    public QuantConfig {
        if (minQuantizedSize < 1) {
            throw new IllegalArgumentException("minQuantizedSize must be >= 1, got " + minQuantizedSize);
        }
        if (fp32StateParams == null) {
            throw new IllegalArgumentException("fp32StateParams must not be null (use Set.of())");
        }
        fp32StateParams = Set.copyOf(fp32StateParams);
    }

    /** @return a copy with another threshold */
    public QuantConfig withMinQuantizedSize(int size) {
        return new QuantConfig(size, fp32StateParams, nonzeroSecondMoment);
    }

    /** @return a copy keeping fp32 state for these parameter names */
    public QuantConfig withFp32State(String... names) {
        return new QuantConfig(minQuantizedSize, Set.of(names), nonzeroSecondMoment);
    }

    /**
     * @param nonzero true (the default) to keep positive second moments off the zero code, false for
     *     bitsandbytes' plain nearest-code rounding (bit-for-bit its AdamW8bit state)
     * @return a copy with that rounding of AdamW8bit's second moment
     */
    public QuantConfig withNonzeroSecondMoment(boolean nonzero) {
        return new QuantConfig(minQuantizedSize, fp32StateParams, nonzero);
    }
}
