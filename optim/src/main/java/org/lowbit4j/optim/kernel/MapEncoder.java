package org.lowbit4j.optim.kernel;

import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Nearest-code quantization to a sorted code map (such as the dynamic maps of
 * {@code org.lowbit4j.autograd.formats.DynamicMaps}) in O(1) per value.
 *
 * <p>The code of {@code x} is the number of thresholds strictly below {@code x}. The thresholds are the
 * midpoints {@code (map[k] + map[k+1]) / 2} (float32): the nearest map value, ties to the lower one, exactly the
 * rule of {@code BlockwiseMapCodec}. An encoder built with {@code positiveNeverZero} moves the threshold above
 * the map's 0 down to 0 itself, so that every positive value, however small, gets the smallest positive code
 * instead of 0 (what AdamW8bit uses for its second moment: see {@code QuantConfig#nonzeroSecondMoment}).
 * {@link #encodeReference} computes the code by binary search; {@link #encode} gets the same answer from a
 * table over the top 16 bits of the value's order-preserving bit pattern (a bf16-sized bucket) plus one
 * comparison, valid because no bucket straddles more than one threshold. Buckets where that does not hold
 * (possible only for very fine maps) fall back to the binary search.
 */
public final class MapEncoder {
    private static final int BUCKETS = 1 << 16;

    private final float[] values;
    /** The thresholds between consecutive codes: the midpoints, one of them 0 with {@link #positiveNeverZero}. */
    private final float[] mids;
    private final boolean positiveNeverZero;
    private final short[] bucketCode;
    /**
     * For one-gather vector encoding, indexed by the top 16 bits of a value's RAW float bits (the index needs no
     * key transform): {@code code << 16 | (0xFFFF - t)} of the value's bucket, where {@code t} is the low 16 bits
     * of the ordered key of the threshold above the code when that threshold lies in the bucket (a value of the
     * bucket is above the threshold iff the low 16 bits of its own key exceed {@code t}), else 0xFFFF (never
     * exceeded); -1 for a slow bucket. Adding the value's low 16 key bits ({@link #keyLow16}) carries into bit
     * 16 exactly when they exceed {@code t}, so {@code (entry + keyLow16) >>> 16} is the code, modulo 256 (see
     * {@link #nanBucketEntry}).
     */
    private final int[] rawEntry;
    /** Whether no entry of {@link #rawEntry} is negative (no slow bucket). */
    private final boolean exactEntries;
    /**
     * Whether no threshold is negative: then every negative value (and -0) encodes to 0, the entries of all
     * negative floats are 0, and a value's raw low 16 bits may stand in for {@link #keyLow16}.
     */
    private final boolean nonNegativeThresholds;
    /** The map padded to 256 entries (NaN beyond the map), so that any byte code can be gathered. */
    private final float[] table256;
    private final int zeroCode;
    /** The midpoints' float bits padded with NaN to 48 entries (for maps of at most 16 codes; else empty). */
    private final int[] mids32;

    /**
     * Nearest-value encoder (ties to the lower value).
     *
     * @param map 2..256 values, strictly ascending
     * @throws IllegalArgumentException for a map of bad size or order
     */
    public MapEncoder(float[] map) {
        this(map, false);
    }

    /**
     * @param map 2..256 values, strictly ascending
     * @param positiveNeverZero whether positive values below the midpoint above a 0 of the map take the code
     *     above it instead of the zero code (no effect on a map without 0)
     * @throws IllegalArgumentException for a map of bad size or order
     */
    public MapEncoder(float[] map, boolean positiveNeverZero) {
        if (map == null || map.length < 2 || map.length > 256) {
            throw new IllegalArgumentException("map must have 2..256 values, got " + (map == null ? "null" : map.length));
        }
        for (int k = 0; k + 1 < map.length; k++) {
            if (!(map[k] < map[k + 1])) {
                throw new IllegalArgumentException("map must be strictly ascending: map[" + k + "] = " + map[k]
                        + ", map[" + (k + 1) + "] = " + map[k + 1]);
            }
        }
        values = map.clone();
        mids = new float[map.length - 1];
        for (int k = 0; k < mids.length; k++) {
            mids[k] = (map[k] + map[k + 1]) / 2f;
        }
        int zero = encodeReference(0f);
        this.positiveNeverZero = positiveNeverZero && map[zero] == 0f && zero < mids.length;
        if (this.positiveNeverZero) {
            // NOTE: the thresholds stay ascending (the one below is negative or absent); +0 and -0 stay at the
            // zero code (0 > 0 is false), and the bucket of +0 gets the threshold's low bits 0, so its positive
            // subnormals carry into the next code in the raw entries as well.
            mids[zero] = 0f;
        }
        bucketCode = new short[BUCKETS];
        for (int b = 0; b < BUCKETS; b++) {
            int keyLo = (b - BUCKETS / 2) << 16;
            float lo = fromKey(keyLo);
            float hi = fromKey(keyLo | 0xFFFF);
            int cLo = encodeReference(lo);
            int cHi = encodeReference(hi);
            boolean nan = Float.isNaN(lo) || Float.isNaN(hi);
            bucketCode[b] = (short) (!nan && cHi - cLo >= 0 && cHi - cLo <= 1 ? cLo : -1);
        }
        zeroCode = zero;
        mids32 = new int[map.length <= 16 ? 48 : 0];
        Arrays.fill(mids32, Float.floatToRawIntBits(Float.NaN));
        for (int k = 0; k < mids.length && map.length <= 16; k++) {
            mids32[k] = Float.floatToRawIntBits(mids[k]);
        }
        table256 = new float[256];
        Arrays.fill(table256, Float.NaN);
        System.arraycopy(values, 0, table256, 0, values.length);
        rawEntry = new int[BUCKETS];
        for (int u = 0; u < BUCKETS; u++) {
            int b = (key(u << 16) >> 16) + BUCKETS / 2;
            int c = bucketCode[b];
            if (c < 0) {
                rawEntry[u] = nanBucketEntry(b);
                continue;
            }
            int t = 0xFFFF;
            if (c < mids.length) {
                int midKey = key(Float.floatToRawIntBits(mids[c]));
                if ((midKey >> 16) + BUCKETS / 2 == b) {
                    t = midKey & 0xFFFF;
                }
            }
            rawEntry[u] = c << 16 | (0xFFFF - t);
        }
        exactEntries = Arrays.stream(rawEntry).allMatch(e -> e >= 0);
        nonNegativeThresholds = mids[0] >= 0f;
    }

    /**
     * The entry of a bucket {@code b} (of ordered keys) without a plain code: one holding NaNs, the only kind the
     * dynamic maps have (checked by MapEncoderTest). For a map of 256 codes its codes are exact modulo 256: +inf
     * is above every midpoint (code 255), and a positive NaN sharing its bucket adds at least 1 to
     * {@code 255 << 16 | 0xFFFF}, which makes code 256, i.e. 0 as a byte: what {@link #encode} gives a NaN (above
     * no midpoint). Every other NaN bucket, -inf's included, is code 0. Any other bucket or map: -1 (slow).
     */
    private int nanBucketEntry(int b) {
        int keyLo = (b - BUCKETS / 2) << 16;
        float lo = fromKey(keyLo);
        float hi = fromKey(keyLo | 0xFFFF);
        boolean nanOrInfLo = Float.isNaN(lo) || Float.isInfinite(lo);
        boolean nanOrInfHi = Float.isNaN(hi) || Float.isInfinite(hi);
        if (values.length != 256 || !nanOrInfLo || !nanOrInfHi) {
            return -1;
        }
        // +inf has the smallest key of its bucket; the rest of that bucket are positive NaNs.
        return lo == Float.POSITIVE_INFINITY ? (values.length - 1) << 16 | 0xFFFF : 0;
    }

    /**
     * @param bits a float's raw bits
     * @return the low 16 bits of its ordered key: the raw low bits, inverted for a negative value
     */
    static int keyLow16(int bits) {
        return (bits ^ (bits >> 31)) & 0xFFFF;
    }

    /**
     * @return the raw-bits entries (live; for the kernels): where {@code entries[x >>> 16]} is not negative, the
     *     code of the float with raw bits {@code x} is {@code ((entries[x >>> 16] + keyLow16(x)) >>> 16) & 0xFF};
     *     a negative entry marks a slow bucket, for {@link #encode}
     */
    int[] rawEntries() {
        return rawEntry;
    }

    /** @return whether every raw entry is exact (no slow bucket; true for 256-code dynamic maps) */
    boolean exactEntries() {
        return exactEntries;
    }

    /**
     * @return whether no threshold is negative, so that the raw low 16 bits of a value's bits may replace
     *     {@link #keyLow16} with the raw entries (a negative value's entry is 0)
     */
    boolean nonNegativeThresholds() {
        return nonNegativeThresholds;
    }

    /**
     * Vector twin of a loop of {@link #encode}: {@code codes[start + i] = encode(x[i] * inv)} for i in [0, n),
     * one byte per code.
     *
     * @param scratch an int[16] for gather indices (a smaller one is replaced by a new array)
     */
    public void encodeBytes(float[] x, int n, float inv, byte[] codes, int start, int[] scratch) {
        scratch = scratch.length >= Lanes.LANES ? scratch : new int[Lanes.LANES];
        int i = 0;
        // NOTE: the whole vector body lives in the loop: a helper taking or returning vectors that C2 does not
        // inline would box every vector (an allocation per vector of values). Block8Kernel repeats this body.
        for (; i <= n - Lanes.LANES; i += Lanes.LANES) {
            IntVector bits = FloatVector.fromArray(Lanes.F, x, i).mul(inv).reinterpretAsInts();
            bits.lanewise(VectorOperators.LSHR, 16).intoArray(scratch, 0);
            IntVector entry = IntVector.fromArray(Lanes.I, rawEntry, 0, scratch, 0);
            if (entry.compare(VectorOperators.LT, 0).anyTrue()) {
                for (int k = 0; k < Lanes.LANES; k++) {
                    codes[start + i + k] = (byte) encode(x[i + k] * inv);
                }
                continue;
            }
            IntVector low = bits.lanewise(VectorOperators.XOR, bits.lanewise(VectorOperators.ASHR, 31)).and(0xFFFF);
            ((ByteVector) entry.add(low).lanewise(VectorOperators.LSHR, 16)
                    .convertShape(VectorOperators.I2B, Lanes.B, 0)).intoArray(codes, start + i);
        }
        for (; i < n; i++) {
            codes[start + i] = (byte) encode(x[i] * inv);
        }
    }

    /**
     * {@code out[i] = value(codes[start + i] & 0xFF) * absmax} for i in [0, n): vector gathers, with a scalar
     * tail (the same products).
     *
     * @param scratch an int[16] for gather indices (a smaller one is replaced by a new array)
     */
    public void decodeBytes(byte[] codes, int start, int n, float absmax, float[] out, int[] scratch) {
        scratch = scratch.length >= Lanes.LANES ? scratch : new int[Lanes.LANES];
        int i = 0;
        for (; i <= n - Lanes.LANES; i += Lanes.LANES) {
            ((IntVector) ByteVector.fromArray(Lanes.B, codes, start + i)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, Lanes.I, 0)).intoArray(scratch, 0);
            FloatVector.fromArray(Lanes.F, table256, 0, scratch, 0).mul(absmax).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = table256[codes[start + i] & 0xFF] * absmax;
        }
    }

    /**
     * As {@link #encodeBytes}, but into nibble-packed codes (element {@code e} in the low nibble of byte
     * {@code e/2} when even); {@code start} must be even.
     *
     * @param scratch unused (the search needs no gather indices); kept for the callers of the byte twin
     * @throws IllegalStateException if the map has more than 16 codes
     */
    public void encodeNibbles(float[] x, int n, float inv, byte[] codes, int start, int[] scratch) {
        if (values.length > 16) {
            throw new IllegalStateException("nibble codes need a map of at most 16 codes, this one has "
                    + values.length);
        }
        // The midpoints mids[j + d] (NaN past the 15th) for j = 0..15, d = 3, 1, 0, as int bits in two registers
        // each (at 16 lanes the first holds all).
        float mid7 = Float.intBitsToFloat(mids32[7]);
        var mid3Lo = IntVector.fromArray(Lanes.I, mids32, 3);
        var mid3Hi = IntVector.fromArray(Lanes.I, mids32, 3 + Lanes.LANES);
        var mid1Lo = IntVector.fromArray(Lanes.I, mids32, 1);
        var mid1Hi = IntVector.fromArray(Lanes.I, mids32, 1 + Lanes.LANES);
        var mid0Lo = IntVector.fromArray(Lanes.I, mids32, 0);
        var mid0Hi = IntVector.fromArray(Lanes.I, mids32, Lanes.LANES);
        var eight = IntVector.broadcast(Lanes.I, 8);
        byte[] pack = new byte[Lanes.LANES];
        int i = 0;
        // NOTE: a branch-free binary search over the 16 midpoint slots, each probe a register permute: after
        // the steps 8, 4, 2, 1 (probing mids[pos + step - 1]), pos is the number of midpoints strictly below v
        // (x > NaN is false, so the padding and a NaN v never count), the code encode() returns; no gather.
        for (; i <= n - Lanes.LANES; i += Lanes.LANES) {
            FloatVector v = FloatVector.fromArray(Lanes.F, x, i).mul(inv);
            var pos = IntVector.zero(Lanes.I).blend(eight, v.compare(VectorOperators.GT, mid7).cast(Lanes.I));
            var probe = pos.selectFrom(mid3Lo, mid3Hi).reinterpretAsFloats();
            pos = pos.blend(pos.add(4), v.compare(VectorOperators.GT, probe).cast(Lanes.I));
            probe = pos.selectFrom(mid1Lo, mid1Hi).reinterpretAsFloats();
            pos = pos.blend(pos.add(2), v.compare(VectorOperators.GT, probe).cast(Lanes.I));
            probe = pos.selectFrom(mid0Lo, mid0Hi).reinterpretAsFloats();
            pos = pos.blend(pos.add(1), v.compare(VectorOperators.GT, probe).cast(Lanes.I));
            ((ByteVector) pos.convertShape(VectorOperators.I2B, Lanes.B, 0)).intoArray(pack, 0);
            Lanes.storeNibbles(codes, start + i, pack);
        }
        for (; i < n; i++) {
            FourBitKernel.setNibble(codes, start + i, encode(x[i] * inv));
        }
    }

    /** Order-preserving map of float bits to signed ints (an involution). */
    private static int key(int bits) {
        return bits ^ ((bits >> 31) & 0x7FFFFFFF);
    }

    private static float fromKey(int key) {
        return Float.intBitsToFloat(key(key));
    }

    /** @return the map padded to 256 entries with NaN (live; for gathers by the kernels) */
    float[] table256() {
        return table256;
    }

    /** @return the number of codes */
    public int size() {
        return values.length;
    }

    /** @return the map value of a code */
    public float value(int code) {
        return values[code];
    }

    /** @return the map values (a copy) */
    public float[] values() {
        return values.clone();
    }

    /** @return whether positive values never take the zero code (see the constructor) */
    public boolean positiveNeverZero() {
        return positiveNeverZero;
    }

    /** @return the code of the value nearest to 0 */
    public int zeroCode() {
        return zeroCode;
    }

    /** @return the nearest code to {@code x} (ties to the lower code; NaN gives 0) */
    public int encode(float x) {
        int c = bucketCode[(key(Float.floatToRawIntBits(x)) >> 16) + BUCKETS / 2];
        if (c < 0) {
            return encodeReference(x);
        }
        return c < mids.length && x > mids[c] ? c + 1 : c;
    }

    /** @return the number of thresholds strictly below {@code x}, by binary search (the specification) */
    public int encodeReference(float x) {
        int lo = 0;
        int hi = mids.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (x > mids[mid]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /**
     * @param code a code
     * @return half the larger gap to the neighbouring values: the largest rounding error of a value within
     *     the map's range that encodes to {@code code} (with {@code positiveNeverZero}, the whole gap below the
     *     smallest positive code, whose values reach down to 0)
     */
    public float resolution(int code) {
        if (positiveNeverZero && code > 0 && values[code - 1] == 0f) {
            float above = code + 1 < values.length ? values[code + 1] - values[code] : 0f;
            return Math.max(values[code], above / 2f);
        }
        float below = code > 0 ? values[code] - values[code - 1] : 0f;
        float above = code + 1 < values.length ? values[code + 1] - values[code] : 0f;
        return Math.max(below, above) / 2f;
    }

    @Override
    public String toString() {
        return "MapEncoder" + Arrays.toString(Arrays.copyOf(values, Math.min(4, values.length))) + "...("
                + values.length + " codes)";
    }
}
