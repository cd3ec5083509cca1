package org.lowbit4j.optim.kernel;

/**
 * The 4-bit linear map without zero of Li et al. (2023) for second moments: code {@code k} in 0..15 means
 * {@code (k + 1) / 16} of the scale. Nothing nonzero decodes to zero, so a small second moment can never
 * become a zero denominator that blows up the update (the "zero-point problem" of 4-bit Adam).
 *
 * <p>Rounding is to the nearest level, ties up: {@code k = clamp(floor(16 * v / scale + 0.5), 1, 16) - 1}.
 * A zero scale (a slice whose moments are all zero) gives code 0 and decodes to 0 through the scale.
 */
public final class LinearMap4 {
    private static final float[] LEVELS = new float[16];
    /** The levels' float bits, zero-padded to 32 entries: a register-permute decode table for the kernels. */
    static final int[] LEVEL_BITS = new int[32];

    static {
        for (int k = 0; k < 16; k++) {
            LEVELS[k] = (k + 1) / 16f;
            LEVEL_BITS[k] = Float.floatToRawIntBits(LEVELS[k]);
        }
    }

    private LinearMap4() {
    }

    /** @return the value of code {@code k} relative to the scale: {@code (k + 1) / 16} */
    public static float level(int k) {
        return LEVELS[k];
    }

    /**
     * @param v a non-negative value, at most {@code scale}
     * @param scale the normalizer (block absmax or rank-1 scale), non-negative
     * @return the code 0..15
     */
    public static int encode(float v, float scale) {
        if (scale == 0f) {
            return 0;
        }
        int q = (int) (v / scale * 16f + 0.5f);
        return Math.min(16, Math.max(1, q)) - 1;
    }

    /** @return {@code level(k) * scale} */
    public static float decode(int k, float scale) {
        return LEVELS[k] * scale;
    }
}
