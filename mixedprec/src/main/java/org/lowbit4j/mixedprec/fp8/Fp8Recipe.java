package org.lowbit4j.mixedprec.fp8;

import java.util.Objects;

/**
 * How FP8 linear layers scale their tensors: Transformer Engine's {@code DelayedScaling} recipe (with
 * {@link Scaling#CURRENT} for just-in-time scaling, as TE's {@code Float8CurrentScaling}).
 *
 * <p>Each FP8 tensor (a layer's input, weight and output gradient) has one fp32 scale. The values are
 * multiplied by the scale, rounded to FP8 (saturating at ±max), and multiplied back by {@code 1 / scale}:
 * <pre>
 *   amax  = |x|max of the previous calls (DELAYED: from the history; CURRENT: of x itself)
 *   scale = (FP8_MAX * 2^-margin) / amax          (rounded down to a power of two if powerOfTwoScale)
 * </pre>
 *
 * @param format which element format each tensor uses; TE default {@link Fp8Format#HYBRID}
 * @param amaxHistoryLen how many previous amaxes each tensor remembers, in [1, 2^20]; TE default 1024
 * @param amaxCompute how the history becomes one amax; TE default {@link AmaxCompute#MAX}
 * @param margin extra head-room in binades: the scale is divided by 2^margin, in [0, 32]; default 0
 * @param powerOfTwoScale round each scale down to a power of two (exact multiplications; never rounds a
 *     scale up, so amax * scale stays within FP8_MAX); default false
 * @param scaling delayed (from the history) or current (from the tensor itself); default
 *     {@link Scaling#DELAYED}
 */
public record Fp8Recipe(Fp8Format format, int amaxHistoryLen, AmaxCompute amaxCompute, int margin,
        boolean powerOfTwoScale, Scaling scaling) {
    /** Largest accepted {@link #amaxHistoryLen()}. */
    public static final int MAX_HISTORY_LEN = 1 << 20;
    /** Largest accepted {@link #margin()}. */
    public static final int MAX_MARGIN = 32;

    /** How a tensor's amax history becomes the amax its scale is computed from. */
    public enum AmaxCompute {
        /** The largest amax in the history (TE {@code "max"}): robust to a single small step. */
        MAX,
        /** The amax of the previous call only (TE {@code "most_recent"}). */
        MOST_RECENT
    }

    /** Where the amax of a tensor's scale comes from. */
    public enum Scaling {
        /** From the amax history of the previous calls (the tensor being quantized is not included). */
        DELAYED,
        /** From the tensor's own amax, just in time (one extra pass over the tensor; for comparison). */
        CURRENT
    }

    /**
     * @throws NullPointerException if an enum is null
     * @throws IllegalArgumentException if amaxHistoryLen or margin is out of range
     */
    public Fp8Recipe {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(amaxCompute, "amaxCompute");
        Objects.requireNonNull(scaling, "scaling");
        if (amaxHistoryLen < 1 || amaxHistoryLen > MAX_HISTORY_LEN) {
            throw new IllegalArgumentException("amaxHistoryLen must be in [1, " + MAX_HISTORY_LEN + "], got "
                    + amaxHistoryLen);
        }
        if (margin < 0 || margin > MAX_MARGIN) {
            throw new IllegalArgumentException("margin must be in [0, " + MAX_MARGIN + "], got " + margin);
        }
    }

    /**
     * @return Transformer Engine's defaults: HYBRID, history 1024, MAX, margin 0, no power-of-two rounding,
     *     delayed scaling
     */
    public static Fp8Recipe defaults() {
        return new Fp8Recipe(Fp8Format.HYBRID, 1024, AmaxCompute.MAX, 0, false, Scaling.DELAYED);
    }

    /** @return a copy with another format */
    public Fp8Recipe withFormat(Fp8Format newFormat) {
        return new Fp8Recipe(newFormat, amaxHistoryLen, amaxCompute, margin, powerOfTwoScale, scaling);
    }

    /** @return a copy with another history length */
    public Fp8Recipe withAmaxHistoryLen(int newLen) {
        return new Fp8Recipe(format, newLen, amaxCompute, margin, powerOfTwoScale, scaling);
    }

    /** @return a copy with another amax algorithm */
    public Fp8Recipe withAmaxCompute(AmaxCompute newCompute) {
        return new Fp8Recipe(format, amaxHistoryLen, newCompute, margin, powerOfTwoScale, scaling);
    }

    /** @return a copy with another margin */
    public Fp8Recipe withMargin(int newMargin) {
        return new Fp8Recipe(format, amaxHistoryLen, amaxCompute, newMargin, powerOfTwoScale, scaling);
    }

    /** @return a copy with power-of-two rounding of the scales on or off */
    public Fp8Recipe withPowerOfTwoScale(boolean on) {
        return new Fp8Recipe(format, amaxHistoryLen, amaxCompute, margin, on, scaling);
    }

    /** @return a copy with another scaling mode */
    public Fp8Recipe withScaling(Scaling newScaling) {
        return new Fp8Recipe(format, amaxHistoryLen, amaxCompute, margin, powerOfTwoScale, newScaling);
    }
}
