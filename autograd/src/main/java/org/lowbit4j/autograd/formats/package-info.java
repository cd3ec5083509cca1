/**
 * Bit-exact number formats and their bulk kernels: IEEE binary16 ({@link org.lowbit4j.autograd.formats.Fp16}),
 * bfloat16 ({@link org.lowbit4j.autograd.formats.Bf16}), FP8 E4M3FN and E5M2
 * ({@link org.lowbit4j.autograd.formats.Fp8}), INT-k ({@link org.lowbit4j.autograd.formats.IntCodec}),
 * the bitsandbytes dynamic maps ({@link org.lowbit4j.autograd.formats.DynamicMaps}) with their block-wise
 * codec ({@link org.lowbit4j.autograd.formats.BlockwiseMapCodec}), the 4-bit code books NF4, FP4 and INT4
 * ({@link org.lowbit4j.autograd.formats.FourBitCodebook}) with their packed block-wise codec
 * ({@link org.lowbit4j.autograd.formats.Packed4Codec}), and ternary / binary weights
 * ({@link org.lowbit4j.autograd.formats.Ternary}, {@link org.lowbit4j.autograd.formats.Binary}).
 *
 * <p>Every vectorised kernel (Vector API) has a scalar twin with the same name plus {@code Scalar}; tests
 * compare the two on lengths with odd tails. Byte layouts are little-endian wherever a multi-byte value is
 * stored.
 */
package org.lowbit4j.autograd.formats;
