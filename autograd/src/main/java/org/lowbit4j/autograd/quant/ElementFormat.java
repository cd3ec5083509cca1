package org.lowbit4j.autograd.quant;

import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.Fp16;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.autograd.formats.FourBitCodebook;
import org.lowbit4j.autograd.formats.IntCodec;

/**
 * The number format one element is rounded to, given the scale (and zero point) of its group. Every format
 * derives its scale from the group's clipping range {@code [lo, hi]} (see {@link ScaleMethod}), except ternary
 * and binary, which always use their own absmean rule, and the 16-bit floats, which use no scale.
 */
public sealed interface ElementFormat {
    /** INT-k: {@code (clamp(rint(x / s) + zp, qmin, qmax) - zp) * s}, computed in float64. */
    record Int(IntCodec codec) implements ElementFormat {
        /** @throws IllegalArgumentException if codec is null */
        public Int {
            if (codec == null) {
                throw new IllegalArgumentException("codec must be given");
            }
        }
    }

    /** FP8 with {@code s = max(|lo|, |hi|) / format.max()}: {@code decode(encode(x / s)) * s} in float32. */
    record Float8(Fp8 format, boolean saturate) implements ElementFormat {
        /** @throws IllegalArgumentException if format is null */
        public Float8 {
            if (format == null) {
                throw new IllegalArgumentException("format must be given");
            }
        }
    }

    /** A 4-bit code book with {@code s = max(|lo|, |hi|)}: {@code value(encode(x * (1/s))) * s} in float32. */
    record FourBit(FourBitCodebook codebook) implements ElementFormat {
        /** @throws IllegalArgumentException if codebook is null */
        public FourBit {
            if (codebook == null) {
                throw new IllegalArgumentException("codebook must be given");
            }
        }
    }

    /** BitNet b1.58 absmean ternary: {@code s = max(mean|x|, 1e-5)} over the group, {@code clamp(rint(x/s), -1, 1) * s}. */
    record Ternary() implements ElementFormat {
    }

    /** Sign with {@code s = mean|x|} over the group: {@code x >= 0 ? s : -s}. */
    record Binary() implements ElementFormat {
    }

    /** IEEE binary16 ({@code bf16 = false}) or bfloat16, element-wise, no scale. */
    record Half(boolean bf16) implements ElementFormat {
    }

    /** @return a short name for messages */
    default String label() {
        return switch (this) {
            case Int i -> "int" + i.codec().bits() + (i.codec().mode() == IntCodec.Mode.ASYMMETRIC ? "-asym" : "");
            case Float8 f -> f.format().name().toLowerCase(java.util.Locale.ROOT);
            case FourBit f -> f.codebook().name().toLowerCase(java.util.Locale.ROOT);
            case Ternary t -> "ternary";
            case Binary b -> "binary";
            case Half h -> h.bf16() ? "bf16" : "fp16";
        };
    }

    /** @return whether the clipping range from the {@link ScaleMethod} sets the scale */
    default boolean usesClippingRange() {
        return switch (this) {
            case Int i -> true;
            case Float8 f -> true;
            case FourBit f -> true;
            case Ternary t -> false;
            case Binary b -> false;
            case Half h -> false;
        };
    }

    /**
     * Scale and zero point of a group.
     *
     * @param lo clipping range low end (from the scale method)
     * @param hi clipping range high end
     * @param values the group's values (used by ternary and binary)
     * @param from first index of the group in values
     * @param to end index (exclusive)
     */
    default GroupParams params(double lo, double hi, double[] values, int from, int to) {
        return switch (this) {
            case Int i -> {
                var p = i.codec().params((float) lo, (float) hi);
                yield new GroupParams(p.scale(), p.zeroPoint());
            }
            case Float8 f -> new GroupParams(positive((float) Math.max(Math.abs(lo), Math.abs(hi)) / f.format().max()), 0);
            case FourBit f -> new GroupParams(positive((float) Math.max(Math.abs(lo), Math.abs(hi))), 0);
            case Ternary t -> new GroupParams(Math.max(meanAbs(values, from, to),
                    org.lowbit4j.autograd.formats.Ternary.MIN_SCALE), 0);
            case Binary b -> new GroupParams(positive(meanAbs(values, from, to)), 0);
            case Half h -> new GroupParams(1f, 0);
        };
    }

    private static float positive(float s) {
        // NOTE: an all-zero group gets scale 1 so that x / s stays finite; it still decodes to exact zeros.
        return s > 0 && Float.isFinite(s) ? s : 1f;
    }

    private static float meanAbs(double[] v, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += Math.abs(v[i]);
        }
        return to > from ? (float) (s / (to - from)) : 0f;
    }

    /** @return x rounded to this format with the group's parameters */
    default double quantizeDequantize(double x, GroupParams p) {
        float s = p.scale();
        return switch (this) {
            case Int i -> {
                var c = i.codec();
                double q = Math.max(c.qmin(), Math.min(c.qmax(), Math.rint(x / s) + p.zeroPoint()));
                yield (q - p.zeroPoint()) * s;
            }
            case Float8 f -> f.format().decode(f.format().encode((float) x / s, f.saturate())) * s;
            case FourBit f -> {
                float inv = 1f / s;
                float v = Float.isInfinite(inv) ? (float) x / s : (float) x * inv;
                yield f.codebook().value(f.codebook().encode(v)) * s;
            }
            case Ternary t -> Math.max(-1, Math.min(1, Math.rint(x / s))) * (double) s;
            case Binary b -> x >= 0 ? s : -s;
            case Half h -> h.bf16() ? Bf16.decode(Bf16.encode((float) x)) : Fp16.decode(Fp16.encode((float) x));
        };
    }

    /** @return the lowest value the group can represent (its clipping range low end) */
    default double rangeLow(GroupParams p) {
        float s = p.scale();
        return switch (this) {
            case Int i -> (double) (i.codec().qmin() - p.zeroPoint()) * s;
            case Float8 f -> -(double) f.format().max() * s;
            case FourBit f -> {
                float m = 0;
                for (float v : f.codebook().codeValues()) {
                    m = Math.min(m, v);
                }
                yield (double) m * s;
            }
            case Ternary t -> -(double) s;
            case Binary b -> -(double) s;
            case Half h -> h.bf16() ? -Float.MAX_VALUE : -Fp16.MAX;
        };
    }

    /** @return the highest value the group can represent (its clipping range high end) */
    default double rangeHigh(GroupParams p) {
        float s = p.scale();
        return switch (this) {
            case Int i -> (double) (i.codec().qmax() - p.zeroPoint()) * s;
            case Float8 f -> (double) f.format().max() * s;
            case FourBit f -> {
                float m = 0;
                for (float v : f.codebook().codeValues()) {
                    m = Math.max(m, v);
                }
                yield (double) m * s;
            }
            case Ternary t -> s;
            case Binary b -> s;
            case Half h -> h.bf16() ? Float.MAX_VALUE : Fp16.MAX;
        };
    }

    /** Scale and zero point of one group. */
    record GroupParams(float scale, int zeroPoint) {
        /** @throws IllegalArgumentException unless the scale is positive and finite */
        public GroupParams {
            if (!(scale > 0) || !Float.isFinite(scale)) {
                throw new IllegalArgumentException("scale must be positive and finite, got " + scale);
            }
        }
    }
}
