package org.lowbit4j.mixedprec;

/**
 * The number format the matrix products of a training run use. Master weights, optimizer state, norms, softmax and
 * the loss are fp32 in every mode.
 */
public enum Precision {
    /** Everything in fp32 (no autocast). */
    FP32,
    /** BF16 operands and results (8 exponent bits: fp32's range, no loss scaling needed). */
    BF16,
    /** FP16 operands and results (5 exponent bits): needs a {@link LossScaler}. */
    FP16,
    /** FP8 linears (E4M3 forward, E5M2 gradients under HYBRID) with per-tensor delayed scaling; other products BF16. */
    FP8
}
