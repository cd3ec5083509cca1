package org.lowbit4j.autograd.formats;

/**
 * BitNet b1.58 ternary weights ("absmean"): {@code s = max(mean|W|, 1e-5)}, codes
 * {@code clamp(rint(W / s), -1, 1)} in {-1, 0, 1} (one signed byte each), value {@code code * s}.
 */
public final class Ternary {
    /** Lower bound of the scale, as in BitNet's reference code (guards an all-zero tensor). */
    public static final float MIN_SCALE = 1e-5f;

    private Ternary() {
    }

    /**
     * @return the absmean scale of {@code w[off, off+len)}
     */
    public static float scale(float[] w, int off, int len) {
        double s = 0;
        for (int i = 0; i < len; i++) {
            s += Math.abs(w[off + i]);
        }
        return Math.max(len == 0 ? 0f : (float) (s / len), MIN_SCALE);
    }

    /** @return the ternary code of x for scale s */
    public static int encode(float x, float s) {
        return (int) Math.max(-1, Math.min(1, Math.rint(x / s)));
    }

    /**
     * Quantizes {@code w[off, off+len)} with one absmean scale.
     *
     * @param codes receives {@code len} codes in {-1, 0, 1} from {@code codeOff}
     * @return the scale s
     */
    public static float quantize(float[] w, int off, int len, byte[] codes, int codeOff) {
        if (off < 0 || len < 0 || off > w.length - len || codeOff < 0 || codeOff > codes.length - len) {
            throw new IllegalArgumentException("range of " + len + " from " + off + " (weights " + w.length
                    + ") to " + codeOff + " (codes " + codes.length + ") is out of bounds");
        }
        float s = scale(w, off, len);
        for (int i = 0; i < len; i++) {
            codes[codeOff + i] = (byte) encode(w[off + i], s);
        }
        return s;
    }
}
