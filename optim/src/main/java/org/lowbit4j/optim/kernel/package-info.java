/**
 * Fused optimizer kernels over native ND4J buffers: {@link java.lang.foreign.MemorySegment} views of
 * parameters and gradients, Vector API update loops with scalar twins of identical results, block-wise
 * and rank-1 quantized moment codecs, bf16 rounding, and the small worker pool the optimizers split large
 * tensors over.
 *
 * <p>Every kernel is elementwise or block-local, so its result does not depend on how a tensor is split
 * between threads: a run with one thread and a run with many give bitwise the same parameters.
 */
package org.lowbit4j.optim.kernel;
