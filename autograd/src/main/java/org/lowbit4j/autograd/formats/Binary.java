package org.lowbit4j.autograd.formats;

/**
 * Binary weights: {@code code = W >= 0 ? +1 : -1} (zero and -0 count as +1, NaN as -1) with the scale
 * {@code s = mean|W|}, value {@code ±s}. Bit-packed eight per byte, first element in the most significant bit,
 * bit 1 meaning +1; a partial last byte is padded with 0 bits.
 */
public final class Binary {
    private Binary() {
    }

    /** @return the mean absolute value of {@code w[off, off+len)} (0 for an empty range) */
    public static float scale(float[] w, int off, int len) {
        double s = 0;
        for (int i = 0; i < len; i++) {
            s += Math.abs(w[off + i]);
        }
        return len == 0 ? 0f : (float) (s / len);
    }

    /**
     * Quantizes {@code w[off, off+len)} with one scale.
     *
     * @param bits receives {@code ceil(len / 8)} bytes from index 0
     * @return the scale s
     */
    public static float quantize(float[] w, int off, int len, byte[] bits) {
        if (off < 0 || len < 0 || off > w.length - len || bits.length < (len + 7) / 8) {
            throw new IllegalArgumentException("range of " + len + " from " + off + " (weights " + w.length
                    + ") needs " + (len + 7) / 8 + " bytes, got " + bits.length);
        }
        java.util.Arrays.fill(bits, 0, (len + 7) / 8, (byte) 0);
        for (int i = 0; i < len; i++) {
            if (w[off + i] >= 0) {
                bits[i >> 3] |= (byte) (0x80 >>> (i & 7));
            }
        }
        return scale(w, off, len);
    }

    /** @return the value of element i: ±s */
    public static float decode(byte[] bits, int i, float s) {
        return (bits[i >> 3] & (0x80 >>> (i & 7))) != 0 ? s : -s;
    }
}
