/**
 * Mixed-precision training: matrix products in BF16, FP16 or FP8 while fp32 master weights, norms,
 * softmax, loss and optimizer state stay in fp32.
 *
 * <ul>
 *   <li>{@link org.lowbit4j.mixedprec.Precision} names the four modes; {@link org.lowbit4j.mixedprec.MixedPrecision}
 *       turns one into an {@link org.lowbit4j.autograd.Autocast.Policy} (and a loss scaler where the mode needs one).</li>
 *   <li>{@link org.lowbit4j.mixedprec.HalfPrecisionPolicy}: BF16 / FP16 autocast. Operands of linears, matmuls and
 *       attention are rounded to the format (round to nearest even; FP16 overflows to infinity and underflows through
 *       subnormals to zero), products accumulate in fp32, results and gradients are rounded back to the format.
 *       BF16 linears run on a real BF16 GEMM ({@link org.lowbit4j.mixedprec.Bf16Linear}); the classifier and its loss
 *       run fused ({@link org.lowbit4j.mixedprec.HalfLinearCrossEntropy}), the logits kept off the tape.</li>
 *   <li>{@link org.lowbit4j.mixedprec.LossScaler}: static or dynamic loss scaling (2^16, x2 after 2000 clean steps,
 *       x0.5 and skip on inf/NaN), the FP16 companion.</li>
 *   <li>{@link org.lowbit4j.mixedprec.fp8}: FP8 linears with Transformer Engine's delayed scaling.</li>
 * </ul>
 *
 * <p>Master weights stay fp32 parameters; the low-precision working copy of a weight is made by rounding it at each
 * forward (so it is refreshed every step), and its gradient, produced in the working format, is accumulated by the
 * engine into the fp32 master gradient.
 */
package org.lowbit4j.mixedprec;
