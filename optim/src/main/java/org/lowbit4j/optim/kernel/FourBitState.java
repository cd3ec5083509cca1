package org.lowbit4j.optim.kernel;

/**
 * The 4-bit AdamW moments of one tensor of {@code n} elements, two codes per byte (element {@code 2i} in the
 * low nibble of byte {@code i}).
 *
 * <p>First moment: signed 4-bit dynamic-map codes with one fp32 absmax per block of {@link #BLOCK}. Second
 * moment: codes of the zero-free {@link LinearMap4}, scaled either by rank-1 normalization (matrices: one
 * fp32 maximum per row and per column of the tensor viewed as {@code [shape[0], n / shape[0]]}) or, for
 * 1-D tensors, by one fp32 absmax per block of {@link #BLOCK}.
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
    private float[] vScaleA;
    private float[] vScaleB;

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
        if (rows != 0) {
            vScaleA = new float[rows];
            vScaleB = new float[cols];
        } else {
            vScaleA = new float[blocks(length)];
            vScaleB = new float[0];
        }
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

    /** @return rank-1: the row maxima [rows]; block-wise: the block absmax (live) */
    public float[] vRowMaxOrAbsmax() {
        return vScaleA;
    }

    /** @return rank-1: the column maxima [cols]; block-wise: empty (live) */
    public float[] vColMax() {
        return vScaleB;
    }

    /** Replaces the rank-1 maxima after a step. */
    void setRank1(float[] rowMax, float[] colMax) {
        vScaleA = rowMax;
        vScaleB = colMax;
    }

    /** @return bytes of state: codes, block maxima and rank-1 maxima */
    public long bytes() {
        return 2L * mCodes.length + 4L * (mAbsmax.length + vScaleA.length + vScaleB.length);
    }
}
