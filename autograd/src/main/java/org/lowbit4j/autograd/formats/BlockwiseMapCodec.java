package org.lowbit4j.autograd.formats;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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

    /**
     * Precomputed search data for one map: the float32 midpoints (padded with +inf), and a bucket index over the
     * order-preserving integer key of a float ({@link #key}): {@code bucketLo[k]} counts the midpoints below the
     * smallest value of bucket k, and no bucket holds more than {@code span} midpoints, so {@code span} compares
     * from {@code bucketLo} finish the count.
     */
    private record Search(float[] thresholds, float lowClamp, float highClamp, int keyBase, int[] bucketLo, int span) {
    }

    /** Bits of the key dropped to form a bucket: sign, exponent and 7 mantissa bits remain. */
    private static final int BUCKET_SHIFT = 16;
    private static final java.util.Map<MapKey, Search> CACHE = new java.util.concurrent.ConcurrentHashMap<>();

    /** A map by content, for the cache. */
    private record MapKey(float[] map, int hash) {
        @Override
        public boolean equals(Object o) {
            return o instanceof MapKey k && k.hash == hash && java.util.Arrays.equals(k.map, map);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** Order-preserving int of a float (for non-NaN values): a < b iff key(a) < key(b), with -0 < +0. */
    static int key(float v) {
        int b = Float.floatToRawIntBits(v);
        return b ^ ((b >> 31) & 0x7FFFFFFF);
    }

    private static float unkey(int k) {
        return Float.intBitsToFloat(k ^ ((k >> 31) & 0x7FFFFFFF));
    }

    private static Search search(float[] map) {
        if (map == null || map.length < 2 || map.length > 256) {
            throw new IllegalArgumentException("map must have 2..256 entries, got "
                    + (map == null ? "null" : map.length));
        }
        var mk = new MapKey(map, java.util.Arrays.hashCode(map));
        Search cached = CACHE.get(mk);
        if (cached != null) {
            return cached;
        }
        int m = map.length - 1;
        float[] t = new float[m + Vec.LANES + 1];
        java.util.Arrays.fill(t, Float.POSITIVE_INFINITY);
        for (int k = 0; k < m; k++) {
            if (!(map[k] <= map[k + 1]) || !Float.isFinite(map[k]) || !Float.isFinite(map[k + 1])) {
                throw new IllegalArgumentException("map must be finite and sorted ascending: map[" + k + "] = "
                        + map[k] + ", map[" + (k + 1) + "] = " + map[k + 1]);
            }
            t[k] = (map[k] + map[k + 1]) / 2f;
        }
        // Clamping a value into [below the first midpoint, above the last] leaves its count unchanged.
        float low = Math.nextDown(t[0]);
        float high = Math.nextUp(t[m - 1]);
        int keyBase = key(low) >> BUCKET_SHIFT;
        int buckets = (key(high) >> BUCKET_SHIFT) - keyBase + 1;
        int[] lo = new int[buckets];
        int span = 0;
        for (int b = 0; b < buckets; b++) {
            int first = Math.max(key(low), (b + keyBase) << BUCKET_SHIFT);
            int last = Math.min(key(high), ((b + keyBase) << BUCKET_SHIFT) + (1 << BUCKET_SHIFT) - 1);
            lo[b] = countBelow(t, m, unkey(first));
            span = Math.max(span, countBelow(t, m, unkey(last)) - lo[b]);
        }
        var s = new Search(t, low, high, keyBase, lo, span);
        if (CACHE.size() > 64) {
            CACHE.clear();
        }
        CACHE.put(new MapKey(map.clone(), mk.hash), s);
        return s;
    }

    /** Number of the first m thresholds strictly below v (binary search). */
    private static int countBelow(float[] t, int m, float v) {
        int a = 0;
        int b = m;
        while (a < b) {
            int mid = (a + b) >>> 1;
            if (t[mid] < v) {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        return a;
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
     * <p>NOTE: a block whose absmax is so small that {@code 1 / absmax} overflows (below about 2.9e-39) is
     * normalised by division instead, so that its values still map to [-1, 1].
     *
     * @param map sorted code map, 2..256 finite values (normally within [-1, 1])
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
        int[] scratch = new int[lanes];
        int lastBucket = s.bucketLo.length - 1;
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
            boolean divide = Float.isInfinite(inv);
            i = 0;
            for (; i <= n - lanes; i += lanes) {
                var x = FloatVector.fromArray(Vec.F, src, base + i);
                var v = (divide ? x.div(m) : x.mul(inv)).max(s.lowClamp).min(s.highClamp);
                var bits = v.reinterpretAsInts();
                var bucket = bits.lanewise(VectorOperators.XOR,
                        bits.lanewise(VectorOperators.ASHR, 31).and(0x7FFFFFFF))
                        .lanewise(VectorOperators.ASHR, BUCKET_SHIFT).sub(s.keyBase).max(0).min(lastBucket);
                bucket.intoArray(scratch, 0);
                var idx = IntVector.fromArray(Vec.I, s.bucketLo, 0, scratch, 0);
                for (int k = 0; k < s.span; k++) {
                    idx.intoArray(scratch, 0);
                    var t = FloatVector.fromArray(Vec.F, s.thresholds, 0, scratch, 0);
                    idx = idx.add(1, v.compare(VectorOperators.GT, t).cast(Vec.I));
                }
                ((ByteVector) idx.convertShape(VectorOperators.I2B, Vec.B, 0)).intoArray(codes, codeOff + start + i);
            }
            for (; i < n; i++) {
                float x = src[base + i];
                codes[codeOff + start + i] = (byte) nearest(s, divide ? x / m : x * inv);
            }
        }
    }

    /** Scalar twin of {@link #quantize}: same arguments, same results (a plain binary search). */
    public static void quantizeScalar(float[] src, int off, int len, float[] map, int blockSize, byte[] codes,
            int codeOff, float[] absmax, int absOff) {
        check(src.length, off, len, blockSize, codes.length, codeOff, absmax.length, absOff);
        Search s = search(map);
        int m = map.length - 1;
        for (int b = 0, start = 0; start < len; b++, start += blockSize) {
            int n = Math.min(blockSize, len - start);
            float a = 0f;
            for (int i = 0; i < n; i++) {
                a = Math.max(a, Math.abs(src[off + start + i]));
            }
            a = checkedAbsmax(a, b);
            absmax[absOff + b] = a;
            float inv = a == 0f ? 0f : 1f / a;
            boolean divide = Float.isInfinite(inv);
            for (int i = 0; i < n; i++) {
                float x = src[off + start + i];
                // NOTE: count midpoints strictly below v, i.e. v > t: ties go to the lower code.
                float v = divide ? x / a : x * inv;
                int lo = 0;
                int hi = m;
                while (lo < hi) {
                    int mid = (lo + hi) >>> 1;
                    if (v > s.thresholds[mid]) {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                codes[codeOff + start + i] = (byte) lo;
            }
        }
    }

    /** Bucket-index search: the number of midpoints strictly below v. */
    private static int nearest(Search s, float v) {
        if (Float.isNaN(v)) {
            return 0; // no midpoint is below NaN
        }
        v = Math.min(Math.max(v, s.lowClamp), s.highClamp);
        int bucket = Math.min(Math.max((key(v) >> BUCKET_SHIFT) - s.keyBase, 0), s.bucketLo.length - 1);
        int idx = s.bucketLo[bucket];
        for (int k = 0; k < s.span; k++) {
            if (v > s.thresholds[idx]) {
                idx++;
            }
        }
        return idx;
    }

    /**
     * Nearest code of one already-normalised value (ties to the lower code; values beyond the map, infinities
     * included, take the end codes; NaN takes code 0).
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
