package org.lowbit4j.autograd.formats;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Block-wise quantization with a code map, as bitsandbytes' {@code quantize_blockwise}: each block of
 * {@code blockSize} consecutive values is divided by its absolute maximum (kept in fp32), and each
 * normalised value becomes the index (one unsigned byte) of the nearest map value.
 *
 * <p>Nearest code: the normalised value {@code v = x * (1 / absmax)} is compared with the float32 midpoints
 * {@code (map[k] + map[k+1]) / 2}; the code is the number of midpoints strictly below {@code v}. So a value
 * exactly on a midpoint (a tie) takes the LOWER code (the smaller map value). A block of zeros has absmax 0 and
 * all its values take the code nearest to 0; it decodes to 0. The last block may be partial.
 *
 * <p>Maps must be sorted ascending with 2..256 entries (the {@link DynamicMaps} are). Every method has a
 * Vector API path and a scalar twin ({@code ...Scalar}) with identical results.
 */
public final class BlockwiseMapCodec {
    private BlockwiseMapCodec() {
    }

    /** Precomputed search data for one map. */
    private record Search(float[] thresholds, int steps) {
    }

    /**
     * Thresholds padded with +inf to 2^steps - 1 entries so that a branchless binary search of exactly
     * {@code steps} steps counts the midpoints below a value.
     */
    private static Search search(float[] map) {
        if (map == null || map.length < 2 || map.length > 256) {
            throw new IllegalArgumentException("map must have 2..256 entries, got "
                    + (map == null ? "null" : map.length));
        }
        int steps = 32 - Integer.numberOfLeadingZeros(map.length - 1);
        float[] t = new float[(1 << steps) - 1 + Vec.LANES];
        java.util.Arrays.fill(t, Float.POSITIVE_INFINITY);
        for (int k = 0; k + 1 < map.length; k++) {
            if (!(map[k] <= map[k + 1])) {
                throw new IllegalArgumentException("map must be sorted ascending: map[" + k + "] = " + map[k]
                        + " > map[" + (k + 1) + "] = " + map[k + 1]);
            }
            t[k] = (map[k] + map[k + 1]) / 2f;
        }
        return new Search(t, steps);
    }

    /** @return the number of blocks for {@code len} values */
    public static int blockCount(int len, int blockSize) {
        return (int) (((long) len + blockSize - 1) / blockSize);
    }

    private static void check(int srcLen, int off, int len, int blockSize, int codesLen, int codeOff,
            int absLen, int absOff) {
        if (blockSize <= 0) {
            throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
        }
        if (off < 0 || len < 0 || off > srcLen - len) {
            throw new IllegalArgumentException("values [" + off + ", " + ((long) off + len) + ") outside array of "
                    + srcLen);
        }
        if (codeOff < 0 || codeOff > codesLen - len) {
            throw new IllegalArgumentException("codes need " + len + " bytes from " + codeOff + ", array has "
                    + codesLen);
        }
        int blocks = blockCount(len, blockSize);
        if (absOff < 0 || absOff > absLen - blocks) {
            throw new IllegalArgumentException("absmax needs " + blocks + " floats from " + absOff
                    + ", array has " + absLen);
        }
    }

    private static float checkedAbsmax(float m, int block) {
        if (!Float.isFinite(m)) {
            throw new IllegalArgumentException("block " + block + " holds a non-finite value (absmax " + m + ")");
        }
        return m;
    }

    /**
     * Quantizes {@code src[off, off+len)} block-wise.
     *
     * @param map sorted code map, 2..256 values (normally within [-1, 1])
     * @param blockSize values per block (positive)
     * @param codes receives {@code len} codes (unsigned bytes) from {@code codeOff}
     * @param absmax receives {@code ceil(len / blockSize)} fp32 block maxima from {@code absOff}
     * @throws IllegalArgumentException on bad ranges, an unsorted map or a non-finite input value
     */
    public static void quantize(float[] src, int off, int len, float[] map, int blockSize, byte[] codes,
            int codeOff, float[] absmax, int absOff) {
        check(src.length, off, len, blockSize, codes.length, codeOff, absmax.length, absOff);
        Search s = search(map);
        int lanes = Vec.LANES;
        int[] probe = new int[lanes];
        for (int b = 0, start = 0; start < len; b++, start += blockSize) {
            int n = Math.min(blockSize, len - start);
            int base = off + start;
            int i = 0;
            var acc = FloatVector.zero(Vec.F);
            for (; i <= n - lanes; i += lanes) {
                acc = acc.max(FloatVector.fromArray(Vec.F, src, base + i).abs());
            }
            float m = acc.reduceLanes(VectorOperators.MAX);
            for (; i < n; i++) {
                m = Math.max(m, Math.abs(src[base + i]));
            }
            m = checkedAbsmax(m, b);
            absmax[absOff + b] = m;
            float inv = m == 0f ? 0f : 1f / m;
            i = 0;
            for (; i <= n - lanes; i += lanes) {
                var v = FloatVector.fromArray(Vec.F, src, base + i).mul(inv);
                var idx = IntVector.zero(Vec.I);
                for (int step = 1 << (s.steps - 1); step > 0; step >>= 1) {
                    idx.add(step - 1).intoArray(probe, 0);
                    var t = FloatVector.fromArray(Vec.F, s.thresholds, 0, probe, 0);
                    VectorMask<Integer> gt = v.compare(VectorOperators.GT, t).cast(Vec.I);
                    idx = idx.add(step, gt);
                }
                ((ByteVector) idx.convertShape(VectorOperators.I2B, Vec.B, 0)).intoArray(codes, codeOff + start + i);
            }
            for (; i < n; i++) {
                codes[codeOff + start + i] = (byte) nearest(s, src[base + i] * inv);
            }
        }
    }

    /** Scalar twin of {@link #quantize}: same arguments, same results. */
    public static void quantizeScalar(float[] src, int off, int len, float[] map, int blockSize, byte[] codes,
            int codeOff, float[] absmax, int absOff) {
        check(src.length, off, len, blockSize, codes.length, codeOff, absmax.length, absOff);
        Search s = search(map);
        for (int b = 0, start = 0; start < len; b++, start += blockSize) {
            int n = Math.min(blockSize, len - start);
            float m = 0f;
            for (int i = 0; i < n; i++) {
                m = Math.max(m, Math.abs(src[off + start + i]));
            }
            m = checkedAbsmax(m, b);
            absmax[absOff + b] = m;
            float inv = m == 0f ? 0f : 1f / m;
            for (int i = 0; i < n; i++) {
                codes[codeOff + start + i] = (byte) nearest(s, src[off + start + i] * inv);
            }
        }
    }

    private static int nearest(Search s, float v) {
        int idx = 0;
        for (int step = 1 << (s.steps - 1); step > 0; step >>= 1) {
            if (v > s.thresholds[idx + step - 1]) {
                idx += step;
            }
        }
        return idx;
    }

    /**
     * Nearest code of one already-normalised value (ties to the lower code).
     *
     * @param map sorted code map
     * @param v normalised value
     * @return the code, 0..map.length-1
     */
    public static int nearestCode(float[] map, float v) {
        return nearest(search(map), v);
    }

    /**
     * Decodes {@code len} codes: {@code dst[dstOff + i] = map[code] * absmax[block]}. A code beyond the end of a
     * map shorter than 256 entries decodes to NaN.
     *
     * @throws IllegalArgumentException on bad ranges
     */
    public static void dequantize(byte[] codes, int codeOff, int len, float[] map, int blockSize, float[] absmax,
            int absOff, float[] dst, int dstOff) {
        check(dst.length, dstOff, len, blockSize, codes.length, codeOff, absmax.length, absOff);
        float[] table = paddedTable(map);
        int lanes = Vec.LANES;
        int[] idx = new int[lanes];
        for (int b = 0, start = 0; start < len; b++, start += blockSize) {
            int n = Math.min(blockSize, len - start);
            float m = absmax[absOff + b];
            int i = 0;
            for (; i <= n - lanes; i += lanes) {
                ((IntVector) ByteVector.fromArray(Vec.B, codes, codeOff + start + i)
                        .convertShape(VectorOperators.B2I, Vec.I, 0)).and(0xFF).intoArray(idx, 0);
                FloatVector.fromArray(Vec.F, table, 0, idx, 0).mul(m).intoArray(dst, dstOff + start + i);
            }
            for (; i < n; i++) {
                dst[dstOff + start + i] = table[codes[codeOff + start + i] & 0xFF] * m;
            }
        }
    }

    /** Scalar twin of {@link #dequantize}. */
    public static void dequantizeScalar(byte[] codes, int codeOff, int len, float[] map, int blockSize,
            float[] absmax, int absOff, float[] dst, int dstOff) {
        check(dst.length, dstOff, len, blockSize, codes.length, codeOff, absmax.length, absOff);
        float[] table = paddedTable(map);
        for (int i = 0; i < len; i++) {
            dst[dstOff + i] = table[codes[codeOff + i] & 0xFF] * absmax[absOff + i / blockSize];
        }
    }

    /** The map padded to 256 entries with NaN, so that a code outside a short map decodes to NaN. */
    private static float[] paddedTable(float[] map) {
        if (map == null || map.length < 2 || map.length > 256) {
            throw new IllegalArgumentException("map must have 2..256 entries, got "
                    + (map == null ? "null" : map.length));
        }
        float[] t = new float[256];
        java.util.Arrays.fill(t, Float.NaN);
        System.arraycopy(map, 0, t, 0, map.length);
        return t;
    }
}
