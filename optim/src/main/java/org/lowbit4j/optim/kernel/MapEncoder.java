package org.lowbit4j.optim.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Nearest-code quantization to a sorted code map (such as the dynamic maps of
 * {@code org.lowbit4j.autograd.formats.DynamicMaps}) in O(1) per value.
 *
 * <p>The code of {@code x} is the number of midpoints {@code (map[k] + map[k+1]) / 2} (float32) strictly
 * below {@code x}: the nearest map value, ties to the lower one, exactly the rule of
 * {@code BlockwiseMapCodec}. {@link #encodeReference} computes it by binary search; {@link #encode} gets the
 * same answer from a table over the top 16 bits of the value's order-preserving bit pattern (a bf16-sized
 * bucket) plus one comparison, valid because no bucket straddles more than one midpoint. Buckets where that
 * does not hold (possible only for very fine maps) fall back to the binary search.
 */
public final class MapEncoder {
    private static final int BUCKETS = 1 << 16;

    private final float[] values;
    private final float[] mids;
    private final short[] bucketCode;
    /**
     * Per bucket, for one-gather vector encoding: {@code code << 16 | t}, where {@code t} is the low 16 bits
     * of the ordered key of the midpoint above the code when that midpoint lies in the bucket (a value of the
     * bucket is above the midpoint iff its own low 16 key bits exceed {@code t}), else 0xFFFF (never
     * exceeded); -1 for a slow bucket.
     */
    private final int[] bucketEntry;
    /** The map padded to 256 entries (NaN beyond the map), so any byte code can be gathered. */
    private final float[] table256;
    private final int zeroCode;

    /**
     * @param map 2..256 values, strictly ascending
     * @throws IllegalArgumentException for a map of bad size or order
     */
    public MapEncoder(float[] map) {
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
        zeroCode = encodeReference(0f);
        bucketEntry = new int[BUCKETS];
        for (int b = 0; b < BUCKETS; b++) {
            int c = bucketCode[b];
            if (c < 0) {
                bucketEntry[b] = -1;
                continue;
            }
            int t = 0xFFFF;
            if (c < mids.length) {
                int midKey = key(Float.floatToRawIntBits(mids[c]));
                if ((midKey >> 16) + BUCKETS / 2 == b) {
                    t = midKey & 0xFFFF;
                }
            }
            bucketEntry[b] = c << 16 | t;
        }
        table256 = new float[256];
        Arrays.fill(table256, Float.NaN);
        System.arraycopy(values, 0, table256, 0, values.length);
    }

    /**
     * Vector twin of {@link #encode}: the codes of 8 values.
     *
     * @param x values (8 lanes)
     * @param scratch an int[8] for gather indices
     * @return the codes, lane for lane equal to {@code encode(x[lane])}
     */
    public IntVector encode(FloatVector x, int[] scratch) {
        IntVector bits = (IntVector) x.reinterpretAsInts();
        IntVector key = bits.lanewise(VectorOperators.XOR,
                bits.lanewise(VectorOperators.ASHR, 31).and(0x7FFFFFFF));
        key.lanewise(VectorOperators.ASHR, 16).add(BUCKETS / 2).intoArray(scratch, 0);
        IntVector entry = IntVector.fromArray(Lanes.I, bucketEntry, 0, scratch, 0);
        if (entry.compare(VectorOperators.LT, 0).anyTrue()) {
            int[] out = new int[Lanes.LANES];
            for (int k = 0; k < out.length; k++) {
                out[k] = encode(x.lane(k));
            }
            return IntVector.fromArray(Lanes.I, out, 0);
        }
        IntVector code = entry.lanewise(VectorOperators.LSHR, 16);
        var above = key.and(0xFFFF).compare(VectorOperators.GT, entry.and(0xFFFF));
        return code.add(1, above);
    }

    /**
     * @param codes 8 codes
     * @param scratch an int[8] for gather indices
     * @return their map values
     */
    public FloatVector decode(IntVector codes, int[] scratch) {
        codes.intoArray(scratch, 0);
        return FloatVector.fromArray(Lanes.F, table256, 0, scratch, 0);
    }

    /** Order-preserving map of float bits to signed ints (an involution). */
    private static int key(int bits) {
        return bits ^ ((bits >> 31) & 0x7FFFFFFF);
    }

    private static float fromKey(int key) {
        return Float.intBitsToFloat(key(key));
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

    /** @return the number of midpoints strictly below {@code x}, by binary search (the specification) */
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
     *     the map's range that encodes to {@code code}
     */
    public float resolution(int code) {
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
