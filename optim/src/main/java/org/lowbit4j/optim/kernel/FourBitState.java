package org.lowbit4j.optim.kernel;

/**
 * The 4-bit AdamW moments of one tensor of {@code n} elements, two codes per byte (element {@code 2i} in the
 * low nibble of byte {@code i}).
 *
 * <p>First moment: signed 4-bit dynamic-map codes with one fp32 absmax per block of {@link #BLOCK}. Second
 * moment: codes of the zero-free {@link LinearMap4}, scaled either by rank-1 normalization (matrices: one
 * maximum per row and per column of the tensor viewed as {@code [shape[0], n / shape[0]]}, stored as bf16
 * rounded up) or, for 1-D tensors, by one fp32 absmax per block of {@link #BLOCK}.
 *
 * <p>Rank-1 maxima are bf16 because at 32000 rows (a token embedding) fp32 maxima would add 0.014 bytes per
 * parameter; rounding them up keeps every normalized value within [0, 1], and their 2^-8 relative step is far
 * below the 1/16 step of the 4-bit codes they scale.
 */
public final class FourBitState {
    /** Elements per block of the first moment (and of a 1-D second moment). */
    public static final int BLOCK = 128;

    private final int length;
    private final byte[] mCodes;
    private final float[] mAbsmax;
    private final byte[] vCodes;
    private final int rows;
    private final int cols;
    private final float[] vAbsmax;
    private short[] rowMax;
    private short[] colMax;

    /**
     * Zero moments.
     *
     * @param length elements of the tensor
     * @param rows rows of the rank-1 view, or 0 for block-wise second moments
     * @param cols columns of the rank-1 view ({@code rows * cols == length}), or 0
     * @param mZeroCode the first-moment code of 0
     * @throws IllegalArgumentException if rows * cols does not match the length
     */
    public FourBitState(int length, int rows, int cols, int mZeroCode) {
        if (rows != 0 && (long) rows * cols != length) {
            throw new IllegalArgumentException("rank-1 view [" + rows + ", " + cols + "] does not hold " + length
                    + " elements");
        }
        this.length = length;
        this.rows = rows;
        this.cols = cols;
        int bytes = (length + 1) / 2;
        mCodes = new byte[bytes];
        byte z = (byte) (mZeroCode | (mZeroCode << 4));
        java.util.Arrays.fill(mCodes, z);
        mAbsmax = new float[blocks(length)];
        vCodes = new byte[bytes];
        vAbsmax = new float[rows != 0 ? 0 : blocks(length)];
        rowMax = new short[rows];
        colMax = new short[cols];
    }

    /**
     * @param f a non-negative float
     * @return the smallest bf16 (as bits) that is >= f
     */
    public static short bf16Up(float f) {
        int bits = Float.floatToRawIntBits(f);
        int hi = bits >>> 16;
        return (short) ((bits & 0xFFFF) != 0 && !Float.isNaN(f) && !Float.isInfinite(f) ? hi + 1 : hi);
    }

    /** @return the number of {@link #BLOCK}-element blocks of {@code length} elements */
    public static int blocks(int length) {
        return (int) (((long) length + BLOCK - 1) / BLOCK);
    }

    /** @return the code of element {@code i} in nibble-packed {@code codes} */
    public static int nibble(byte[] codes, int i) {
        return (codes[i >> 1] >> ((i & 1) << 2)) & 0xF;
    }

    /** @return elements of the tensor */
    public int length() {
        return length;
    }

    /** @return whether the second moment uses rank-1 normalization */
    public boolean isRank1() {
        return rows != 0;
    }

    /** @return rows of the rank-1 view (0 if block-wise) */
    public int rows() {
        return rows;
    }

    /** @return columns of the rank-1 view (0 if block-wise) */
    public int cols() {
        return cols;
    }

    /** @return first-moment codes, nibble-packed (live) */
    public byte[] mCodes() {
        return mCodes;
    }

    /** @return first-moment block absmax (live) */
    public float[] mAbsmax() {
        return mAbsmax;
    }

    /** @return second-moment codes, nibble-packed (live) */
    public byte[] vCodes() {
        return vCodes;
    }

    /** @return block-wise: the second moment's block absmax (live); rank-1: empty */
    public float[] vAbsmax() {
        return vAbsmax;
    }

    /** @return rank-1: the row maxima [rows] as bf16 bits (live); block-wise: empty */
    public short[] rowMaxBits() {
        return rowMax;
    }

    /** @return rank-1: the column maxima [cols] as bf16 bits (live); block-wise: empty */
    public short[] colMaxBits() {
        return colMax;
    }

    /** @return the row maxima as floats (a copy) */
    public float[] rowMax() {
        return decode(rowMax);
    }

    /** @return the column maxima as floats (a copy) */
    public float[] colMax() {
        return decode(colMax);
    }

    static float[] decode(short[] bits) {
        float[] out = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            out[i] = Bf16.toFloat(bits[i]);
        }
        return out;
    }

    /** Replaces the rank-1 maxima after a step. */
    void setRank1(short[] newRowMax, short[] newColMax) {
        rowMax = newRowMax;
        colMax = newColMax;
    }

    /** @return bytes of state: codes, block maxima and rank-1 maxima */
    public long bytes() {
        return 2L * mCodes.length + 4L * (mAbsmax.length + vAbsmax.length) + 2L * (rowMax.length + colMax.length);
    }
}
