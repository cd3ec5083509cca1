package org.lowbit4j.mixedprec.fp8;

import java.util.Objects;

/**
 * The three scaling states of one FP8 linear weight: its layer's input, the weight itself, and the
 * layer's output gradient.
 *
 * @param name the weight's name (its key in state files)
 * @param weightShape [out, in] of the weight (checked at each use and on load)
 * @param input scaling state of the layer input x
 * @param weight scaling state of W
 * @param gradOutput scaling state of dL/dy
 */
public record Fp8WeightMetas(String name, long[] weightShape, Fp8TensorMeta input, Fp8TensorMeta weight,
        Fp8TensorMeta gradOutput) {
    /** Which tensor of an FP8 linear layer a meta scales. */
    public enum Role {
        /** The layer input x (forward, E4M3). */
        INPUT,
        /** The weight W (forward, E4M3). */
        WEIGHT,
        /** The output gradient dL/dy (backward, E5M2 under HYBRID). */
        GRAD_OUTPUT
    }

    /** @throws NullPointerException if an argument is null */
    public Fp8WeightMetas {
        Objects.requireNonNull(name, "name");
        weightShape = weightShape.clone();
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(weight, "weight");
        Objects.requireNonNull(gradOutput, "gradOutput");
    }

    /** @return [out, in] (a copy) */
    @Override
    public long[] weightShape() {
        return weightShape.clone();
    }

    /** @return the meta of one role */
    public Fp8TensorMeta meta(Role role) {
        return switch (role) {
            case INPUT -> input;
            case WEIGHT -> weight;
            case GRAD_OUTPUT -> gradOutput;
        };
    }
}
