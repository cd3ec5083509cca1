package org.lowbit4j.mixedprec.fp8;

import org.lowbit4j.autograd.formats.Fp8;

/**
 * Which FP8 element format each tensor of an FP8 linear layer uses (Transformer Engine's {@code Format}).
 */
public enum Fp8Format {
    /** E4M3 (max ±448) everywhere: activations and weights in the forward, gradients in the backward. */
    E4M3,
    /**
     * E4M3 for activations and weights in the forward, E5M2 (max ±57344, two more binades of range, one
     * mantissa bit less) for the output gradients in the backward. Transformer Engine's default.
     */
    HYBRID;

    /** @return the element format of the forward operands (input and weight): always E4M3FN */
    public Fp8 forwardFormat() {
        return Fp8.E4M3FN;
    }

    /** @return the element format of the output gradient in the backward: E5M2 under HYBRID, else E4M3FN */
    public Fp8 backwardFormat() {
        return this == HYBRID ? Fp8.E5M2 : Fp8.E4M3FN;
    }
}
