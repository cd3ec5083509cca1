package org.lowbit4j.optim.kernel;

/**
 * Rank-1 normalization of Li et al. (2023) for a non-negative matrix {@code v [R, C]}: each element's scale
 * is {@code min(rowMax[r], colMax[c])}, the smaller of the largest value in its row and in its column, so
 * {@code v[r, c] / scale} lies in [0, 1] and an outlier inflates only its own row's or column's scale, not a
 * whole block's. Storage is {@code R + C} floats.
 */
public final class Rank1 {
    private Rank1() {
    }

    /**
     * @param v row-major values of an {@code [rows, cols]} matrix
     * @param rows R
     * @param cols C
     * @return {@code {rowMax [R], colMax [C]}} of the absolute values
     * @throws IllegalArgumentException if {@code v.length != rows * cols}
     */
    public static float[][] maxima(float[] v, int rows, int cols) {
        if ((long) rows * cols != v.length) {
            throw new IllegalArgumentException("matrix [" + rows + ", " + cols + "] needs " + (long) rows * cols
                    + " values, got " + v.length);
        }
        float[] rowMax = new float[rows];
        float[] colMax = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float a = Math.abs(v[r * cols + c]);
                rowMax[r] = Math.max(rowMax[r], a);
                colMax[c] = Math.max(colMax[c], a);
            }
        }
        return new float[][] {rowMax, colMax};
    }

    /** @return the scale of element (r, c): {@code min(rowMax[r], colMax[c])} */
    public static float scale(float[] rowMax, float[] colMax, int r, int c) {
        return Math.min(rowMax[r], colMax[c]);
    }
}
