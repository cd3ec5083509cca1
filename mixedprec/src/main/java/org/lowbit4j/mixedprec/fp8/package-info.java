/**
 * FP8 training with Transformer Engine's scaling semantics, computed on the CPU as quantize, dequantize,
 * then an fp32 GEMM: real E4M3 / E5M2 numerics (the bit-exact {@link org.lowbit4j.autograd.formats.Fp8}
 * codec's rounding, saturating), per-tensor scales.
 *
 * <ul>
 *   <li>{@link org.lowbit4j.mixedprec.fp8.Fp8Recipe}: the recipe (format, amax history length, MAX /
 *       MOST_RECENT, margin, power-of-two scales, delayed / current scaling), TE's defaults;</li>
 *   <li>{@link org.lowbit4j.mixedprec.fp8.Fp8TensorMeta}: one tensor's amax history and scale, and its
 *       fake quantization (delayed: the scale comes from the previous calls' amaxes only);</li>
 *   <li>{@link org.lowbit4j.mixedprec.fp8.Fp8Linear}: the FP8 linear function (E4M3 forward, E5M2
 *       gradients under HYBRID, straight-through backward);</li>
 *   <li>{@link org.lowbit4j.mixedprec.fp8.Fp8Policy}: the {@link org.lowbit4j.autograd.Autocast.Policy}
 *       that routes linear layers to FP8 and the other products to a delegate, with state save / load;</li>
 *   <li>{@link org.lowbit4j.mixedprec.fp8.Fp8Kernels}: the Vector API kernels (amax, scaled fake
 *       quantization) with their scalar twins.</li>
 * </ul>
 */
package org.lowbit4j.mixedprec.fp8;
