package org.lowbit4j.optim;

import java.util.Set;

/**
 * Which parameters of {@link AdamW8bit} / {@link AdamW4bit} keep fp32 moments.
 *
 * @param minQuantizedSize tensors with fewer elements keep fp32 state (default 4096, as bitsandbytes'
 *     {@code min_8bit_size}); >= 1
 * @param fp32StateParams names of parameters that keep fp32 state whatever their size (default none), e.g.
 *     the token embedding, as bitsandbytes' {@code StableEmbedding}; each must name a parameter
 */
public record QuantConfig(int minQuantizedSize, Set<String> fp32StateParams) {
    /** Threshold 4096, no overrides. */
    public static final QuantConfig DEFAULTS = new QuantConfig(4096, Set.of());

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
        return new QuantConfig(size, fp32StateParams);
    }

    /** @return a copy keeping fp32 state for these parameter names */
    public QuantConfig withFp32State(String... names) {
        return new QuantConfig(minQuantizedSize, Set.of(names));
    }
}
