/**
 * Quantized tensors and fake quantization for training: {@link org.lowbit4j.autograd.quant.QuantizedTensor}
 * (packed 4-bit weights with block absmax scales and optional QLoRA double quantization),
 * {@link org.lowbit4j.autograd.quant.IntQuantizedTensor} (packed INT-k codes with group-wise scales and zero points),
 * {@link org.lowbit4j.autograd.quant.Granularity} and {@link org.lowbit4j.autograd.quant.ScaleMethod} (where
 * scales live and how calibration picks them), {@link org.lowbit4j.autograd.quant.Calibrator} (static scales
 * over several batches), {@link org.lowbit4j.autograd.quant.FakeQuantizer}
 * (quantize-then-dequantize in any {@link org.lowbit4j.autograd.quant.ElementFormat}), the straight-through
 * autograd nodes {@link org.lowbit4j.autograd.quant.StraightThroughQuantize} and
 * {@link org.lowbit4j.autograd.quant.LsqQuantize}, and {@link org.lowbit4j.autograd.quant.RoundToNearest} for
 * the evaluation command.
 */
package org.lowbit4j.autograd.quant;
