package org.lowbit4j.optim.kernel;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
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
 * value) and encodes it with the new scales. No fp32 copy of the moment is ever held (one row's at most).
 *
 * <p>In the vector kernel, pass 1 encodes a finished row at once when every element's final scale is already
 * known to be the row's (see {@link #finishRow}), and pass 2 skips that row: on tall matrices such as the token
 * embedding most rows take this path, which spares pass 2's second read of the gradient. The codes are the
 * same either way.
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
                    Workers.chunkStart(k + 1, chunks, n, BLOCK), c, mMap, null, null, null, null, null, vector));
            return;
        }
        float[] rowOld = s.rowMax();
        float[] colOld = s.colMax();
        // NOTE: the vector passes take the minimum of two scales as a signed int minimum of their bits, equal to
        // Math.min for non-negative floats without NaN (scales are maxima of non-negative moments, never -0);
        // scales holding a NaN (from a NaN gradient) take the scalar twin.
        boolean vectorPass1 = vector && noNaN(rowOld) && noNaN(colOld);
        float[][] rowParts = new float[chunks][];
        float[][] colParts = new float[chunks][];
        // Rows whose second moments pass 1 already encoded (their codes are new; pass 2 skips them).
        boolean[] rowDone = new boolean[s.rows()];
        workers.run(chunks, k -> {
            rowParts[k] = new float[s.rows()];
            colParts[k] = new float[s.cols()];
            pass1(p, g, s, Workers.chunkStart(k, chunks, n, BLOCK), Workers.chunkStart(k + 1, chunks, n, BLOCK),
                    c, mMap, rowOld, colOld, rowParts[k], colParts[k], vectorPass1 ? rowDone : null, vectorPass1);
        });
        short[] rowBits = new short[s.rows()];
        short[] colBits = new short[s.cols()];
        float[] rowNew = merge(rowParts, rowBits);
        float[] colNew = merge(colParts, colBits);
        boolean vectorPass2 = vectorPass1 && noNaN(rowNew) && noNaN(colNew);
        workers.run(chunks, k -> pass2(g, s, Workers.chunkStart(k, chunks, n, BLOCK),
                Workers.chunkStart(k + 1, chunks, n, BLOCK), c, rowOld, colOld, rowNew, colNew, rowDone, vectorPass2));
        s.setRank1(rowBits, colBits);
    }

    private static boolean noNaN(float[] a) {
        for (float x : a) {
            if (x != x) {
                return false;
            }
        }
        return true;
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

    /**
     * Decode, update and (first moment, block-wise second moment) re-encode elements [from, to).
     *
     * @param rowDone rank-1 in vector mode: receives true for each row whose second moments this pass encoded
     *     (see {@link #finishRow}); else null
     */
    private static void pass1(MemorySegment p, MemorySegment g, FourBitState s, int from, int to, AdamCoeffs c,
            MapEncoder mMap, float[] rowOld, float[] colOld, float[] rowNew, float[] colNew, boolean[] rowDone,
            boolean vector) {
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
        // The new second moments of the current row, for finishRow.
        float[] rowV = rowDone != null ? new float[cols] : null;
        float[] acc = new float[2];
        byte[] pack = new byte[Lanes.LANES];
        for (int start = from; start < to; start += BLOCK) {
            int n = Math.min(BLOCK, to - start);
            int b = start / BLOCK;
            float am = mAbs[b];
            float av = rank1 ? 0f : vAbs[b];
            int r = rank1 ? start / cols : 0;
            int col = rank1 ? start - r * cols : 0;
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
                            ? rowSegment(p, g, mCodes, vCodes, mTable256, am, colOld, rowOld[r], col, colNew, sm, rowV,
                                    i, start + i, segEnd - i, c, acc)
                            : blockSegment(p, g, mCodes, vCodes, mTable256, am, av, sm, sv, i, start + i, segEnd - i, c,
                                    acc);
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
                        if (rowV != null) {
                            rowV[cc] = sv[k];
                        }
                    }
                }
                if (rank1) {
                    col += segEnd - i;
                    if (col == cols) {
                        if (rowV != null && (long) r * cols >= from) {
                            // The whole row lies in this chunk: its maximum is final.
                            rowDone[r] = finishRow(vCodes, r * cols, cols, rowV, rowNew[r], colNew, pack);
                        }
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
            float am, float[] colOld, float rowOld, int col0, float[] colNew, float[] sm, float[] rowV,
            int i0, int e0, int len, AdamCoeffs c, float[] acc) {
        int rowOldBits = Float.floatToRawIntBits(rowOld);
        var maxM = IntVector.zero(Lanes.I);
        var maxV = IntVector.zero(Lanes.I);
        var mLo = FloatVector.fromArray(Lanes.F, mTable256, 0).reinterpretAsInts();
        var mHi = FloatVector.fromArray(Lanes.F, mTable256, Lanes.LANES).reinterpretAsInts();
        var levelLo = IntVector.fromArray(Lanes.I, LinearMap4.LEVEL_BITS, 0);
        var levelHi = IntVector.fromArray(Lanes.I, LinearMap4.LEVEL_BITS, Lanes.LANES);
        int k = 0;
        for (; k <= len - Lanes.LANES; k += Lanes.LANES) {
            int e = e0 + k;
            int col = col0 + k;
            long byteOff = 4L * e;
            // The code selects its map value from two registers (no gather).
            var m = IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(mCodes, e >> 1))
                    .blend(Lanes.LANES == 16 ? (int) Lanes.INT_LE.get(mCodes, (e >> 1) + 4) : 0, Lanes.HIGH)
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).selectFrom(mLo, mHi)
                    .reinterpretAsFloats().mul(am);
            var level = (IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(vCodes, e >> 1))
                    .blend(Lanes.LANES == 16 ? (int) Lanes.INT_LE.get(vCodes, (e >> 1) + 4) : 0, Lanes.HIGH)
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).selectFrom(levelLo, levelHi))
                    .reinterpretAsFloats();
            var v = level.mul(FloatVector.fromArray(Lanes.F, colOld, col).reinterpretAsInts().min(rowOldBits)
                    .reinterpretAsFloats());
            var gv = FloatVector.fromMemorySegment(Lanes.F, g, byteOff, Lanes.ORDER);
            var mv = m.mul(c.beta1()).add(gv.mul(c.oneMinusBeta1()));
            var vv = v.mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var denom = vv.lanewise(VectorOperators.SQRT).mul(c.invSqrtBc2()).add(c.eps());
            FloatVector.fromMemorySegment(Lanes.F, p, byteOff, Lanes.ORDER).mul(c.decay())
                    .sub(mv.div(denom).mul(c.stepSize())).intoMemorySegment(p, byteOff, Lanes.ORDER);
            mv.intoArray(sm, i0 + k);
            vv.intoArray(rowV, col);
            FloatVector.fromArray(Lanes.F, colNew, col).reinterpretAsInts()
                    .lanewise(VectorOperators.UMAX, vv.reinterpretAsInts()).reinterpretAsFloats().intoArray(colNew, col);
            maxM = maxM.lanewise(VectorOperators.UMAX, mv.abs().reinterpretAsInts());
            maxV = maxV.lanewise(VectorOperators.UMAX, vv.reinterpretAsInts());
        }
        acc[0] = Float.intBitsToFloat(maxM.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                .reduceLanes(VectorOperators.MAX) ^ Integer.MIN_VALUE);
        acc[1] = Float.intBitsToFloat(maxV.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                .reduceLanes(VectorOperators.MAX) ^ Integer.MIN_VALUE);
        return k;
    }

    /** As {@link #rowSegment} for a block-wise (1-D) second moment with block absmax {@code av}. */
    private static int blockSegment(MemorySegment p, MemorySegment g, byte[] mCodes, byte[] vCodes,
            float[] mTable256, float am, float av, float[] sm, float[] sv, int i0, int e0, int len, AdamCoeffs c,
            float[] acc) {
        var maxM = IntVector.zero(Lanes.I);
        var maxV = IntVector.zero(Lanes.I);
        var mLo = FloatVector.fromArray(Lanes.F, mTable256, 0).reinterpretAsInts();
        var mHi = FloatVector.fromArray(Lanes.F, mTable256, Lanes.LANES).reinterpretAsInts();
        var levelLo = IntVector.fromArray(Lanes.I, LinearMap4.LEVEL_BITS, 0);
        var levelHi = IntVector.fromArray(Lanes.I, LinearMap4.LEVEL_BITS, Lanes.LANES);
        int k = 0;
        for (; k <= len - Lanes.LANES; k += Lanes.LANES) {
            int e = e0 + k;
            long byteOff = 4L * e;
            // The code selects its map value from two registers (no gather).
            var m = IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(mCodes, e >> 1))
                    .blend(Lanes.LANES == 16 ? (int) Lanes.INT_LE.get(mCodes, (e >> 1) + 4) : 0, Lanes.HIGH)
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).selectFrom(mLo, mHi)
                    .reinterpretAsFloats().mul(am);
            var v = (IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(vCodes, e >> 1))
                    .blend(Lanes.LANES == 16 ? (int) Lanes.INT_LE.get(vCodes, (e >> 1) + 4) : 0, Lanes.HIGH)
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).selectFrom(levelLo, levelHi))
                    .reinterpretAsFloats().mul(av);
            var gv = FloatVector.fromMemorySegment(Lanes.F, g, byteOff, Lanes.ORDER);
            var mv = m.mul(c.beta1()).add(gv.mul(c.oneMinusBeta1()));
            var vv = v.mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var denom = vv.lanewise(VectorOperators.SQRT).mul(c.invSqrtBc2()).add(c.eps());
            FloatVector.fromMemorySegment(Lanes.F, p, byteOff, Lanes.ORDER).mul(c.decay())
                    .sub(mv.div(denom).mul(c.stepSize())).intoMemorySegment(p, byteOff, Lanes.ORDER);
            mv.intoArray(sm, i0 + k);
            vv.intoArray(sv, i0 + k);
            maxM = maxM.lanewise(VectorOperators.UMAX, mv.abs().reinterpretAsInts());
            maxV = maxV.lanewise(VectorOperators.UMAX, vv.reinterpretAsInts());
        }
        acc[0] = Float.intBitsToFloat(maxM.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                .reduceLanes(VectorOperators.MAX) ^ Integer.MIN_VALUE);
        acc[1] = Float.intBitsToFloat(maxV.lanewise(VectorOperators.XOR, Integer.MIN_VALUE)
                .reduceLanes(VectorOperators.MAX) ^ Integer.MIN_VALUE);
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
            float[] colOld, float[] rowNew, float[] colNew, boolean[] rowDone, boolean vector) {
        byte[] vCodes = s.vCodes();
        int cols = s.cols();
        int r = from / cols;
        int col = from - r * cols;
        int i = from;
        while (i < to) {
            int segEnd = Math.min(to, i + (cols - col));
            if (rowDone[r]) {
                i = segEnd;
                col = 0;
                r++;
                continue;
            }
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

    /**
     * Encodes the new second moments of a finished row in pass 1 when their scales are already final, sparing
     * pass 2 the recomputation. The row's maximum is final (the row lies in one chunk), and column maxima only
     * grow: where the column's running maximum, rounded up to bf16, is at least the row's, the final scale
     * {@code min(row, column)} is the row's. The codes are those pass 2 would write: the same values, the same
     * scale, the same float operations as {@link LinearMap4#encode}.
     *
     * @param e0 the row's first element
     * @param rowV the row's new second moments [cols]
     * @param rowMax the row's new maximum (not yet rounded)
     * @param colNew this chunk's running column maxima (not rounded)
     * @param pack scratch of {@code LANES} bytes
     * @return whether the row was encoded (else pass 2 must encode it)
     */
    private static boolean finishRow(byte[] vCodes, int e0, int cols, float[] rowV, float rowMax, float[] colNew,
            byte[] pack) {
        short rowBits = FourBitState.bf16Up(rowMax);
        float scale = Bf16.toFloat(rowBits);
        // Zero, infinite and NaN scales are left to pass 2.
        if (!(scale > 0f) || scale == Float.POSITIVE_INFINITY) {
            return false;
        }
        // bf16Up(x) >= scale iff x exceeds the bf16 just below the scale (false for a NaN x).
        float below = Bf16.toFloat((short) (rowBits - 1));
        int k = 0;
        for (; k <= cols - Lanes.LANES; k += Lanes.LANES) {
            if (!FloatVector.fromArray(Lanes.F, colNew, k).compare(VectorOperators.GT, below).allTrue()) {
                return false;
            }
        }
        for (; k < cols; k++) {
            if (!(colNew[k] > below)) {
                return false;
            }
        }
        k = 0;
        if ((e0 & 1) != 0) {
            setNibble(vCodes, e0, LinearMap4.encode(rowV[0], scale));
            k = 1;
        }
        for (; k <= cols - Lanes.LANES; k += Lanes.LANES) {
            var q = (IntVector) FloatVector.fromArray(Lanes.F, rowV, k).div(scale).mul(16f).add(0.5f)
                    .convert(VectorOperators.F2I, 0);
            ((ByteVector) q.max(1).min(16).sub(1).convertShape(VectorOperators.I2B, Lanes.B, 0)).intoArray(pack, 0);
            Lanes.storeNibbles(vCodes, e0 + k, pack);
        }
        for (; k < cols; k++) {
            setNibble(vCodes, e0 + k, LinearMap4.encode(rowV[k], scale));
        }
        return true;
    }

    /** Vector part of {@link #pass2} over {@code len} elements of one row from element {@code e0} (even). */
    private static int rowPass2(MemorySegment g, byte[] vCodes, int e0, int col0, int len, AdamCoeffs c,
            float[] colOld, float rowOld, float[] colNew, float rowNew) {
        int rowOldBits = Float.floatToRawIntBits(rowOld);
        int rowNewBits = Float.floatToRawIntBits(rowNew);
        byte[] pack = new byte[Lanes.LANES];
        var levelLo = IntVector.fromArray(Lanes.I, LinearMap4.LEVEL_BITS, 0);
        var levelHi = IntVector.fromArray(Lanes.I, LinearMap4.LEVEL_BITS, Lanes.LANES);
        int k = 0;
        for (; k <= len - Lanes.LANES; k += Lanes.LANES) {
            int e = e0 + k;
            int col = col0 + k;
            var gv = FloatVector.fromMemorySegment(Lanes.F, g, 4L * e, Lanes.ORDER);
            var level = (IntVector.broadcast(Lanes.I, (int) Lanes.INT_LE.get(vCodes, e >> 1))
                    .blend(Lanes.LANES == 16 ? (int) Lanes.INT_LE.get(vCodes, (e >> 1) + 4) : 0, Lanes.HIGH)
                    .lanewise(VectorOperators.LSHR, Lanes.SHIFTS).and(0xF).selectFrom(levelLo, levelHi))
                    .reinterpretAsFloats();
            var old = level.mul(FloatVector.fromArray(Lanes.F, colOld, col).reinterpretAsInts().min(rowOldBits)
                    .reinterpretAsFloats());
            var v = old.mul(c.beta2()).add(gv.mul(gv).mul(c.oneMinusBeta2()));
            var scale = FloatVector.fromArray(Lanes.F, colNew, col).reinterpretAsInts().min(rowNewBits)
                    .reinterpretAsFloats();
            // NOTE: a zero scale means v == 0: 0/0 = NaN converts to 0, clamped to level 1 = code 0, which is
            // what LinearMap4.encode returns for a zero scale.
            var q = (IntVector) v.div(scale).mul(16f).add(0.5f).convert(VectorOperators.F2I, 0);
            ((ByteVector) q.max(1).min(16).sub(1).convertShape(VectorOperators.I2B, Lanes.B, 0)).intoArray(pack, 0);
            Lanes.storeNibbles(vCodes, e, pack);
        }
        return k;
    }

    static void setNibble(byte[] codes, int i, int code) {
        int shift = (i & 1) << 2;
        codes[i >> 1] = (byte) ((codes[i >> 1] & ~(0xF << shift)) | (code << shift));
    }
}
