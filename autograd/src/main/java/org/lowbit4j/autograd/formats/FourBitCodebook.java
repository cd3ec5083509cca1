package org.lowbit4j.autograd.formats;

/**
 * The 4-bit code books used with block-wise absmax scaling: a code 0..15 stands for
 * {@code value(code) * absmax}.
 */
public enum FourBitCodebook {
    /**
     * NormalFloat4 exactly as bitsandbytes defines it (code = index, ascending): quantiles of N(0, 1) scaled to
     * [-1, 1], with an exact 0 (code 7).
     */
    NF4(new float[] {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
        -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
        0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
        0.7229568362236023f, 1.0f}, -1),
    /**
     * bitsandbytes' FP4 (an E2M1 variant normalised to max 1): bit 3 is the sign, codes 0..7 are 0, 1/192,
     * 2/3, 1, 1/3, 1/2, 1/6, 1/4 (the float literals of bitsandbytes' {@code dDequantizeFP4Tree}). Code 8
     * (-0) is never produced by encoding.
     */
    FP4(new float[] {
        0.0f, 5.208333333e-03f, 0.66666667f, 1.0f, 0.33333333f, 0.5f, 0.16666667f, 0.25f,
        -0.0f, -5.208333333e-03f, -0.66666667f, -1.0f, -0.33333333f, -0.5f, -0.16666667f, -0.25f}, 8),
    /**
     * The standard OCP / MX E2M1 FP4 (magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6), normalised to max 1: code
     * {@code S EE M}. Differs from bitsandbytes' {@link #FP4} only in its smallest non-zero magnitude (1/12
     * instead of 1/192), which matters for the mean squared error on Gaussian data. Code 8 (-0) is never
     * produced by encoding.
     */
    E2M1(e2m1Values(), 8),
    /**
     * Symmetric INT4 with absmax scaling: the code is the 4-bit two's complement of q in [-7, 7] and stands for
     * q / 7. Code 8 (q = -8) is never produced by encoding.
     */
    INT4(int4Values(), 8);

    private final float[] valuesByCode;
    /** Encodable values sorted ascending, and the code of each. */
    private final float[] sortedValues;
    private final int[] sortedCodes;
    /** Midpoints between consecutive sorted values (float32); ties go to the lower value. */
    private final float[] thresholds;

    FourBitCodebook(float[] valuesByCode, int unusedCode) {
        this.valuesByCode = valuesByCode;
        int n = unusedCode < 0 ? 16 : 15;
        Integer[] order = new Integer[16];
        for (int c = 0; c < 16; c++) {
            order[c] = c;
        }
        java.util.Arrays.sort(order, (a, b) -> Float.compare(valuesByCode[a], valuesByCode[b]));
        sortedValues = new float[n];
        sortedCodes = new int[n];
        int k = 0;
        for (int c : order) {
            if (c != unusedCode) {
                sortedValues[k] = valuesByCode[c];
                sortedCodes[k++] = c;
            }
        }
        thresholds = new float[n - 1];
        for (int i = 0; i + 1 < n; i++) {
            thresholds[i] = (sortedValues[i] + sortedValues[i + 1]) / 2f;
        }
    }

    private static float[] e2m1Values() {
        float[] mag = {0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f};
        float[] v = new float[16];
        for (int c = 0; c < 8; c++) {
            v[c] = mag[c] / 6f;
            v[c + 8] = -mag[c] / 6f;
        }
        return v;
    }

    private static float[] int4Values() {
        float[] v = new float[16];
        for (int c = 0; c < 16; c++) {
            int q = c < 8 ? c : c - 16;
            v[c] = q / 7f;
        }
        return v;
    }

    /** @return the value of each code 0..15 (a copy) */
    public float[] codeValues() {
        return valuesByCode.clone();
    }

    /** @return the value of one code */
    public float value(int code) {
        return valuesByCode[code & 15];
    }

    /**
     * @param v a value normalised by the block absmax (normally in [-1, 1])
     * @return the code of the nearest encodable value; exact midpoints go to the lower value
     */
    public int encode(float v) {
        int idx = 0;
        for (float t : thresholds) {
            if (v > t) {
                idx++;
            }
        }
        return sortedCodes[idx];
    }

    float[] table() {
        return valuesByCode;
    }

    float[] thresholds() {
        return thresholds;
    }

    int[] sortedCodes() {
        return sortedCodes;
    }
}
