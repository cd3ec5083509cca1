/**
 * The engine's primitives: one {@link org.lowbit4j.autograd.Function} subclass per differentiable
 * operation, each saving in {@code forward} what its hand-written {@code backward} needs.
 *
 * <p>Most users call them through {@link org.lowbit4j.autograd.F}. Every primitive works for FLOAT and
 * DOUBLE inputs and keeps the input data type. Matrix products go through
 * {@link org.lowbit4j.autograd.blas.Gemm}. Row kernels (softmax, cross-entropy, RoPE, RMSNorm,
 * SiLU, embedding) read ND4J buffers through {@link java.lang.foreign.MemorySegment}s: DOUBLE arrays
 * take scalar loops accumulating in double, FLOAT arrays take Vector API kernels ({@code Kernels},
 * each with a scalar twin that the tests compare against). {@link org.lowbit4j.autograd.ops.StraightThroughRound} doubles as the example of a
 * user-written custom node.
 *
 * <p>Arrays a primitive keeps privately from forward to backward (attention probabilities, the logits
 * of {@link org.lowbit4j.autograd.ops.LinearCrossEntropy}) come from {@code ScratchPool}, a per-thread
 * pool, and go back to it once backward has run, so that training steps reuse native memory.
 */
package org.lowbit4j.autograd.ops;
