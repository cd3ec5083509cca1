package org.lowbit4j.optim.kernel;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

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
                Workers.chunkStart(k + 1, chunks, n, BLOCK), c, rowOld, colOld, rowNew, colNew, vector));
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
        float[] mTable256 = mMap.table256();
        float[] sm = new float[BLOCK];
        float[] sv = new float[BLOCK];
        int[] ix = new int[Lanes.LANES];
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
            float av = rank1 ? 0f : vAbs[b];
            int r = rank1 ? start / cols : 0;
            int col = rank1 ? start - r * cols : 0;
            float[] acc = new float[2];
            float maxMAll = 0f;
            float maxVAll = 0f;
            int i = 0;
            while (i < n) {
                // A segment: the rest of the block within the current row (rank-1), or the rest of the block.
                int segEnd = rank1 ? Math.min(n, i + (cols - col)) : n;
                int done = 0;
                if (vector && ((start + i) & 1) == 0) {
                    acc[0] = 0f;
                    acc[1] = 0f;
                    done = rank1
                            ? rowSegment(p, g, mCodes, vCodes, mTable256, am, colOld, rowOld[r], col, colNew, sm, sv,
                                    i, start + i, segEnd - i, c, ix, acc)
                            : blockSegment(p, g, mCodes, vCodes, mTable256, am, av, sm, sv, i, start + i, segEnd - i, c,
                                    ix, acc);
                    maxMAll = Math.max(maxMAll, acc[0]);
                    maxVAll = Math.max(maxVAll, acc[1]);
                    if (rank1) {
                        rowNew[r] = Math.max(rowNew[r], acc[1]);
                    }
                }
                for (int k = i + done; k < segEnd; k++) {
                    int e = start + k;
                    int cc = col + (k - i);
                    sm[k] = mTable[FourBitState.nibble(mCodes, e)] * am;
                    float scale = rank1 ? Math.min(rowOld[r], colOld[cc]) : av;
                    sv[k] = LinearMap4.decode(FourBitState.nibble(vCodes, e), scale);
                    AdamKernel.stepScalar(p, g, e, sm, sv, k, 1, c);
                    maxMAll = Math.max(maxMAll, Math.abs(sm[k]));
                    maxVAll = Math.max(maxVAll, sv[k]);
                    if (rank1) {
                        rowNew[r] = Math.max(rowNew[r], sv[k]);
                        colNew[cc] = Math.max(colNew[cc], sv[k]);
                    }
                }
                if (rank1) {
                    col += segEnd - i;
                    if (col == cols) {
                        col = 0;
                        r++;
                    }
                }
                i = segEnd;
            }
            float mMax = maxMAll;
            mAbs[b] = mMax;
            encodeM(sm, n, mCodes, start, mMax, mMap, vector, ix);
            if (!rank1) {
                float vMax = maxVAll;
                vAbs[b] = vMax;
                for (int k = 0; k < n; k++) {
                    setNibble(vCodes, start + k, LinearMap4.encode(sv[k], vMax));
                }
            }
        }
    }

    /**
     * Vector AdamW over {@code len} elements of one row of a rank-1 tensor (from element {@code e0}, even; column
     * {@code col0}; scratch index {@code i0}). Each of these loops has one straight-line body: vectors that merge
     * across branches are boxed by C2.
     *
     * @param acc receives {max |m|, max v} of the processed elements
     * @return elements processed (a multiple of 8; the caller finishes the rest)
     */
    private static int rowSegment(MemorySegment p, MemorySegment g, byte[] mCodes, byte[] vCodes, float[] mTable256,
            float am, float[] colOld, float rowOld, int col0, float[] colNew, float[] sm, float[] sv, int i0, int e0,
            int len, AdamCoeffs c, int[] ix, float[] acc) {
        var maxM = FloatVector.zero(Lanes.F);
        var maxV = FloatVector.zero(Lanes.F);
        int k = 0;
        for (; k <= len - Lanes.LANES; k += Lanes.LANES) {
            int e = e0 + k;
            int col = col0 + k;
            long byteOff = 4L * e;
            IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(mCodes, e >> 1))
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).intoArray(ix, 0);
            var m = FloatVector.fromArray(Lanes.F, mTable256, 0, ix, 0).mul(am);
            var level = ((FloatVector) IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(vCodes, e >> 1))
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).convert(VectorOperators.I2F, 0))
                    .add(1f).mul(1f / 16f);
            var v = level.mul(FloatVector.fromArray(Lanes.F, colOld, col).min(rowOld));
            var gv = FloatVector.fromMemorySegment(Lanes.F, g, byteOff, Lanes.ORDER);
            var mv = m.mul(c.beta1()).add(gv.mul(c.oneMinusBeta1()));
            var vv = v.mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var denom = vv.lanewise(VectorOperators.SQRT).mul(c.invSqrtBc2()).add(c.eps());
            FloatVector.fromMemorySegment(Lanes.F, p, byteOff, Lanes.ORDER).mul(c.decay())
                    .sub(mv.div(denom).mul(c.stepSize())).intoMemorySegment(p, byteOff, Lanes.ORDER);
            mv.intoArray(sm, i0 + k);
            vv.intoArray(sv, i0 + k);
            FloatVector.fromArray(Lanes.F, colNew, col).max(vv).intoArray(colNew, col);
            maxM = maxM.max(mv.abs());
            maxV = maxV.max(vv);
        }
        acc[0] = maxM.reduceLanes(VectorOperators.MAX);
        acc[1] = maxV.reduceLanes(VectorOperators.MAX);
        return k;
    }

    /** As {@link #rowSegment} for a block-wise (1-D) second moment with block absmax {@code av}. */
    private static int blockSegment(MemorySegment p, MemorySegment g, byte[] mCodes, byte[] vCodes,
            float[] mTable256, float am, float av, float[] sm, float[] sv, int i0, int e0, int len, AdamCoeffs c,
            int[] ix, float[] acc) {
        var maxM = FloatVector.zero(Lanes.F);
        var maxV = FloatVector.zero(Lanes.F);
        int k = 0;
        for (; k <= len - Lanes.LANES; k += Lanes.LANES) {
            int e = e0 + k;
            long byteOff = 4L * e;
            IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(mCodes, e >> 1))
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).intoArray(ix, 0);
            var m = FloatVector.fromArray(Lanes.F, mTable256, 0, ix, 0).mul(am);
            var v = ((FloatVector) IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(vCodes, e >> 1))
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).convert(VectorOperators.I2F, 0))
                    .add(1f).mul(1f / 16f).mul(av);
            var gv = FloatVector.fromMemorySegment(Lanes.F, g, byteOff, Lanes.ORDER);
            var mv = m.mul(c.beta1()).add(gv.mul(c.oneMinusBeta1()));
            var vv = v.mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var denom = vv.lanewise(VectorOperators.SQRT).mul(c.invSqrtBc2()).add(c.eps());
            FloatVector.fromMemorySegment(Lanes.F, p, byteOff, Lanes.ORDER).mul(c.decay())
                    .sub(mv.div(denom).mul(c.stepSize())).intoMemorySegment(p, byteOff, Lanes.ORDER);
            mv.intoArray(sm, i0 + k);
            vv.intoArray(sv, i0 + k);
            maxM = maxM.max(mv.abs());
            maxV = maxV.max(vv);
        }
        acc[0] = maxM.reduceLanes(VectorOperators.MAX);
        acc[1] = maxV.reduceLanes(VectorOperators.MAX);
        return k;
    }

    private static void encodeM(float[] sm, int n, byte[] codes, int start, float max, MapEncoder map,
            boolean vector, int[] ix) {
        if (max == 0f) {
            for (int k = 0; k < n; k++) {
                setNibble(codes, start + k, map.zeroCode());
            }
            return;
        }
        float inv = 1f / max;
        if (vector) {
            map.encodeNibbles(sm, n, inv, codes, start, ix);
        } else {
            for (int k = 0; k < n; k++) {
                setNibble(codes, start + k, map.encode(sm[k] * inv));
            }
        }
    }

    /** Re-encodes rank-1 second moments of elements [from, to) with the new maxima. */
    private static void pass2(MemorySegment g, FourBitState s, int from, int to, AdamCoeffs c, float[] rowOld,
            float[] colOld, float[] rowNew, float[] colNew, boolean vector) {
        byte[] vCodes = s.vCodes();
        int cols = s.cols();
        int r = from / cols;
        int col = from - r * cols;
        int i = from;
        while (i < to) {
            int segEnd = Math.min(to, i + (cols - col));
            int done = vector && (i & 1) == 0
                    ? rowPass2(g, vCodes, i, col, segEnd - i, c, colOld, rowOld[r], colNew, rowNew[r]) : 0;
            for (int e = i + done; e < segEnd; e++) {
                int cc = col + (e - i);
                float gi = g.getAtIndex(AdamKernel.FLOAT, e);
                float old = LinearMap4.decode(FourBitState.nibble(vCodes, e), Math.min(rowOld[r], colOld[cc]));
                // NOTE: must be the exact expression of AdamKernel, so the value equals the one pass 1 used.
                float v = old * c.beta2() + gi * gi * c.oneMinusBeta2();
                setNibble(vCodes, e, LinearMap4.encode(v, Math.min(rowNew[r], colNew[cc])));
            }
            col += segEnd - i;
            if (col == cols) {
                col = 0;
                r++;
            }
            i = segEnd;
        }
    }

    /** Vector part of {@link #pass2} over {@code len} elements of one row from element {@code e0} (even). */
    private static int rowPass2(MemorySegment g, byte[] vCodes, int e0, int col0, int len, AdamCoeffs c,
            float[] colOld, float rowOld, float[] colNew, float rowNew) {
        int k = 0;
        for (; k <= len - Lanes.LANES; k += Lanes.LANES) {
            int e = e0 + k;
            int col = col0 + k;
            var gv = FloatVector.fromMemorySegment(Lanes.F, g, 4L * e, Lanes.ORDER);
            var level = ((FloatVector) IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(vCodes, e >> 1))
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).convert(VectorOperators.I2F, 0))
                    .add(1f).mul(1f / 16f);
            var old = level.mul(FloatVector.fromArray(Lanes.F, colOld, col).min(rowOld));
            var v = old.mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var scale = FloatVector.fromArray(Lanes.F, colNew, col).min(rowNew);
            // NOTE: a zero scale means v == 0: 0/0 = NaN converts to 0, clamped to level 1 = code 0, which is
            // what LinearMap4.encode returns for a zero scale.
            var q = (IntVector) v.div(scale).mul(16f).add(0.5f).convert(VectorOperators.F2I, 0);
            Lanes.INT_LE.set(vCodes, e >> 1, q.max(1).min(16).sub(1).lanewise(VectorOperators.LSHL, Lanes.SHIFTS)
                    .reduceLanes(VectorOperators.OR));
        }
        return k;
    }

    static void setNibble(byte[] codes, int i, int code) {
        int shift = (i & 1) << 2;
        codes[i >> 1] = (byte) ((codes[i >> 1] & ~(0xF << shift)) | (code << shift));
    }
}
