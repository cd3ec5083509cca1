package org.lowbit4j.optim.kernel;

import java.lang.foreign.MemorySegment;

/**
 * The 4-bit AdamW update of Li et al. (NeurIPS 2023), over a {@link FourBitState}.
 *
 * <p>Block-wise second moments (1-D tensors) take one pass per block: decode, AdamW update, re-encode. Rank-1
 * second moments need the maxima of the whole updated matrix before any element can be encoded, so they take
 * two passes: pass 1 decodes, updates the parameter and the first moment, and collects the new row and column
 * maxima of the second moment (per chunk, merged by max, which is exact and order-free); pass 2 recomputes each
 * new second moment from the still-unchanged old codes and the gradient (the same float operations, so the same
 * value) and encodes it with the new scales. No fp32 copy of the moment is ever held.
 *
 * <p>{@link #update} vectorises the AdamW arithmetic, {@link #updateScalar} is its bitwise-equal scalar twin.
 */
public final class FourBitKernel {
    private static final int BLOCK = FourBitState.BLOCK;

    private FourBitKernel() {
    }

    /**
     * One AdamW step of a whole tensor.
     *
     * @param p parameters (float32, {@code s.length()} elements), updated in place
     * @param g gradients (float32)
     * @param s moments, updated in place
     * @param c the step's constants
     * @param mMap the signed 4-bit map of the first moment (16 codes)
     * @param workers threads to split the tensor over (results do not depend on it)
     */
    public static void update(MemorySegment p, MemorySegment g, FourBitState s, AdamCoeffs c, MapEncoder mMap,
            Workers workers) {
        run(p, g, s, c, mMap, workers, true);
    }

    /** Scalar twin of {@link #update}. */
    public static void updateScalar(MemorySegment p, MemorySegment g, FourBitState s, AdamCoeffs c,
            MapEncoder mMap, Workers workers) {
        run(p, g, s, c, mMap, workers, false);
    }

    private static void run(MemorySegment p, MemorySegment g, FourBitState s, AdamCoeffs c, MapEncoder mMap,
            Workers workers, boolean vector) {
        int n = s.length();
        int chunks = workers.chunksFor(n, BLOCK);
        if (!s.isRank1()) {
            workers.run(chunks, k -> pass1(p, g, s, Workers.chunkStart(k, chunks, n, BLOCK),
                    Workers.chunkStart(k + 1, chunks, n, BLOCK), c, mMap, null, null, null, null, vector));
            return;
        }
        float[] rowOld = s.rowMax();
        float[] colOld = s.colMax();
        float[][] rowParts = new float[chunks][];
        float[][] colParts = new float[chunks][];
        workers.run(chunks, k -> {
            rowParts[k] = new float[s.rows()];
            colParts[k] = new float[s.cols()];
            pass1(p, g, s, Workers.chunkStart(k, chunks, n, BLOCK), Workers.chunkStart(k + 1, chunks, n, BLOCK),
                    c, mMap, rowOld, colOld, rowParts[k], colParts[k], vector);
        });
        short[] rowBits = new short[s.rows()];
        short[] colBits = new short[s.cols()];
        float[] rowNew = merge(rowParts, rowBits);
        float[] colNew = merge(colParts, colBits);
        workers.run(chunks, k -> pass2(g, s, Workers.chunkStart(k, chunks, n, BLOCK),
                Workers.chunkStart(k + 1, chunks, n, BLOCK), c, rowOld, colOld, rowNew, colNew));
        s.setRank1(rowBits, colBits);
    }

    /** Max over the chunks' partial maxima, rounded up to bf16 (bits into {@code bits}, values returned). */
    private static float[] merge(float[][] parts, short[] bits) {
        float[] out = parts[0];
        for (int k = 1; k < parts.length; k++) {
            for (int j = 0; j < out.length; j++) {
                out[j] = Math.max(out[j], parts[k][j]);
            }
        }
        for (int j = 0; j < out.length; j++) {
            bits[j] = FourBitState.bf16Up(out[j]);
            out[j] = Bf16.toFloat(bits[j]);
        }
        return out;
    }

    /** Decode, update and (first moment, block-wise second moment) re-encode elements [from, to). */
    private static void pass1(MemorySegment p, MemorySegment g, FourBitState s, int from, int to, AdamCoeffs c,
            MapEncoder mMap, float[] rowOld, float[] colOld, float[] rowNew, float[] colNew, boolean vector) {
        float[] mTable = mMap.values();
        float[] sm = new float[BLOCK];
        float[] sv = new float[BLOCK];
        byte[] mCodes = s.mCodes();
        byte[] vCodes = s.vCodes();
        float[] mAbs = s.mAbsmax();
        float[] vAbs = s.vAbsmax();
        boolean rank1 = s.isRank1();
        int cols = s.cols();
        for (int start = from; start < to; start += BLOCK) {
            int n = Math.min(BLOCK, to - start);
            int b = start / BLOCK;
            float am = mAbs[b];
            for (int i = 0; i < n; i++) {
                sm[i] = mTable[FourBitState.nibble(mCodes, start + i)] * am;
            }
            if (rank1) {
                int r = start / cols;
                int col = start - r * cols;
                for (int i = 0; i < n; i++) {
                    sv[i] = LinearMap4.decode(FourBitState.nibble(vCodes, start + i), Math.min(rowOld[r], colOld[col]));
                    if (++col == cols) {
                        col = 0;
                        r++;
                    }
                }
            } else {
                float av = vAbs[b];
                for (int i = 0; i < n; i++) {
                    sv[i] = LinearMap4.decode(FourBitState.nibble(vCodes, start + i), av);
                }
            }
            if (vector) {
                AdamKernel.step(p, g, start, sm, sv, 0, n, c);
            } else {
                AdamKernel.stepScalar(p, g, start, sm, sv, 0, n, c);
            }
            float mMax = vector ? Block8Kernel.absMax(sm, n) : Block8Kernel.absMaxScalar(sm, n);
            mAbs[b] = mMax;
            if (mMax == 0f) {
                for (int i = 0; i < n; i++) {
                    setNibble(mCodes, start + i, mMap.zeroCode());
                }
            } else {
                float inv = 1f / mMax;
                for (int i = 0; i < n; i++) {
                    setNibble(mCodes, start + i, mMap.encode(sm[i] * inv));
                }
            }
            if (rank1) {
                int r = start / cols;
                int col = start - r * cols;
                for (int i = 0; i < n; i++) {
                    float v = sv[i];
                    rowNew[r] = Math.max(rowNew[r], v);
                    colNew[col] = Math.max(colNew[col], v);
                    if (++col == cols) {
                        col = 0;
                        r++;
                    }
                }
            } else {
                float vMax = vector ? Block8Kernel.absMax(sv, n) : Block8Kernel.absMaxScalar(sv, n);
                vAbs[b] = vMax;
                for (int i = 0; i < n; i++) {
                    setNibble(vCodes, start + i, LinearMap4.encode(sv[i], vMax));
                }
            }
        }
    }

    /** Re-encodes rank-1 second moments of elements [from, to) with the new maxima. */
    private static void pass2(MemorySegment g, FourBitState s, int from, int to, AdamCoeffs c, float[] rowOld,
            float[] colOld, float[] rowNew, float[] colNew) {
        byte[] vCodes = s.vCodes();
        int cols = s.cols();
        int r = from / cols;
        int col = from - r * cols;
        for (int i = from; i < to; i++) {
            float gi = g.getAtIndex(AdamKernel.FLOAT, i);
            float old = LinearMap4.decode(FourBitState.nibble(vCodes, i), Math.min(rowOld[r], colOld[col]));
            // NOTE: must be the exact expression of AdamKernel, so the value equals the one pass 1 used.
            float v = old * c.beta2() + gi * gi * c.oneMinusBeta2();
            setNibble(vCodes, i, LinearMap4.encode(v, Math.min(rowNew[r], colNew[col])));
            if (++col == cols) {
                col = 0;
                r++;
            }
        }
    }

    static void setNibble(byte[] codes, int i, int code) {
        int shift = (i & 1) << 2;
        codes[i >> 1] = (byte) ((codes[i >> 1] & ~(0xF << shift)) | (code << shift));
    }
}
