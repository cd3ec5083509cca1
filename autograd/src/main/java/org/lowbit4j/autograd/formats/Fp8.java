package org.lowbit4j.autograd.formats;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The two FP8 formats of the OCP 8-bit floating point specification. Encoding rounds to nearest, ties to even;
 * values whose rounded magnitude exceeds the largest finite value saturate to ±max in saturating mode, or become
 * the format's overflow code otherwise (E4M3FN: NaN, E5M2: ±infinity). Infinite inputs are treated as out of
 * range the same way. NaN always encodes to NaN with its sign kept. Decoding is exact (a 256-entry table).
 */
public enum Fp8 {
    /**
     * E4M3FN: 4 exponent bits, bias 7, 3 mantissa bits; max ±448 (code 0x7E), no infinities, NaN = S.1111.111
     * (0x7F / 0xFF), smallest subnormal 2^-9.
     */
    E4M3FN(3, 7, 0x7E, 0x7F, 0x7F, false),
    /**
     * E5M2: 5 exponent bits, bias 15, 2 mantissa bits (the top byte of a binary16); max ±57344 (0x7B),
     * infinities 0x7C / 0xFC, NaNs 0x7D..0x7F (encoding writes 0x7E), smallest subnormal 2^-16.
     */
    E5M2(2, 15, 0x7B, 0x7C, 0x7E, true);

    private final int mantissaBits;
    /** True for IEEE-style specials (all-ones exponent = inf / NaN), false for "FN" (only S.1111.111 is NaN). */
    private final boolean ieeeSpecials;
    private final int bias;
    private final int maxCode;
    private final int overflowCode;
    private final int nanCode;
    /** Smallest normal magnitude, as fp32 bits. */
    private final int minNormalBits;
    /** 2^(emin - M + 23): adding it rounds a subnormal magnitude to the format's subnormal step. */
    private final float magic;
    private final int magicBits;
    private final int rebias;
    private final float[] table = new float[256];

    Fp8(int mantissaBits, int bias, int maxCode, int overflowCode, int nanCode, boolean ieeeSpecials) {
        this.mantissaBits = mantissaBits;
        this.ieeeSpecials = ieeeSpecials;
        this.bias = bias;
        this.maxCode = maxCode;
        this.overflowCode = overflowCode;
        this.nanCode = nanCode;
        int emin = 1 - bias;
        this.minNormalBits = (emin + 127) << 23;
        this.magic = Math.scalb(1f, emin - mantissaBits + 23);
        this.magicBits = Float.floatToRawIntBits(magic);
        this.rebias = (127 - bias) << 23;
        for (int c = 0; c < 256; c++) {
            table[c] = decodeFormula(c);
        }
    }

    /** Decoding by the textbook formula, used to build the table. */
    private float decodeFormula(int code) {
        int e = (code & 0x7F) >>> mantissaBits;
        int m = code & ((1 << mantissaBits) - 1);
        int emax = (1 << (7 - mantissaBits)) - 1;
        float sign = (code & 0x80) != 0 ? -1f : 1f;
        if (!ieeeSpecials && e == emax && m == (1 << mantissaBits) - 1) {
            return Float.NaN;
        }
        if (ieeeSpecials && e == emax) {
            return m == 0 ? sign * Float.POSITIVE_INFINITY : Float.NaN;
        }
        if (e == 0) {
            return sign * Math.scalb((float) m, 1 - bias - mantissaBits);
        }
        return sign * Math.scalb(1f + m / (float) (1 << mantissaBits), e - bias);
    }

    /** @return the largest finite magnitude (448 or 57344) */
    public float max() {
        return table[maxCode];
    }

    /** @return the exact value of a code (NaN / infinity where the format says so) */
    public float decode(int code) {
        return table[code & 0xFF];
    }

    /** @return the 256 decoded values, indexed by code (a copy) */
    public float[] decodeTable() {
        return table.clone();
    }

    /**
     * @param x any float
     * @param saturate clamp out-of-range magnitudes to ±max instead of NaN (E4M3FN) / infinity (E5M2)
     * @return the code (0..255)
     */
    public int encode(float x, boolean saturate) {
        int b = Float.floatToRawIntBits(x);
        int sign = (b >>> 24) & 0x80;
        int a = b & 0x7FFFFFFF;
        int code;
        if (a > 0x7F800000) {
            return sign | nanCode;
        } else if (a < minNormalBits) {
            code = Float.floatToRawIntBits(Float.intBitsToFloat(a) + magic) - magicBits;
        } else {
            int shift = 23 - mantissaBits;
            code = (a + ((a >>> shift) & 1) + ((1 << (shift - 1)) - 1) - rebias) >>> shift;
        }
        if (code > maxCode) {
            code = saturate ? maxCode : overflowCode;
        }
        return sign | code;
    }

    /**
     * Encodes n fp32 values.
     *
     * @param src n little-endian fp32 values
     * @param dst receives n codes
     * @param saturate see {@link #encode(float, boolean)}
     * @throws IllegalArgumentException if a segment is too small
     */
    public void encode(MemorySegment src, MemorySegment dst, long n, boolean saturate) {
        Vec.checkBulk(this + " encode", src, 4, dst, 1, n);
        int shift = 23 - mantissaBits;
        int round = (1 << (shift - 1)) - 1 - rebias;
        int over = saturate ? maxCode : overflowCode;
        long i = 0;
        for (long head = Vec.alignHead(src, n); i < head; i++) {
            dst.set(Vec.BYTE, i, (byte) encode(src.get(Vec.LE_FLOAT, i * 4), saturate));
        }
        int lanes = Vec.LANES;
        for (; i <= n - lanes; i += lanes) {
            var x = FloatVector.fromMemorySegment(Vec.F, src, i * 4, Vec.LE);
            var b = x.reinterpretAsInts();
            var a = b.and(0x7FFFFFFF);
            var normal = a.add(a.lanewise(VectorOperators.LSHR, shift).and(1)).add(round)
                    .lanewise(VectorOperators.LSHR, shift);
            var sub = x.abs().add(magic).reinterpretAsInts().sub(magicBits);
            IntVector code = normal.blend(sub, a.compare(VectorOperators.LT, minNormalBits));
            code = code.blend(over, code.compare(VectorOperators.GT, maxCode))
                    .blend(nanCode, a.compare(VectorOperators.GT, 0x7F800000))
                    .or(b.lanewise(VectorOperators.LSHR, 24).and(0x80));
            ((ByteVector) code.convertShape(VectorOperators.I2B, Vec.B, 0)).intoMemorySegment(dst, i, Vec.LE);
        }
        for (; i < n; i++) {
            dst.set(Vec.BYTE, i, (byte) encode(src.get(Vec.LE_FLOAT, i * 4), saturate));
        }
    }

    /** Scalar twin of {@link #encode(MemorySegment, MemorySegment, long, boolean)}. */
    public void encodeScalar(MemorySegment src, MemorySegment dst, long n, boolean saturate) {
        Vec.checkBulk(this + " encode", src, 4, dst, 1, n);
        for (long i = 0; i < n; i++) {
            dst.set(Vec.BYTE, i, (byte) encode(src.get(Vec.LE_FLOAT, i * 4), saturate));
        }
    }

    /**
     * Decodes n codes.
     *
     * @param src n codes
     * @param dst receives n little-endian fp32 values
     */
    public void decode(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk(this + " decode", src, 1, dst, 4, n);
        int lanes = Vec.LANES;
        int[] idx = new int[lanes];
        long i = 0;
        for (long head = Vec.alignHead(dst, n); i < head; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, table[src.get(Vec.BYTE, i) & 0xFF]);
        }
        for (; i <= n - lanes; i += lanes) {
            ((IntVector) ByteVector.fromMemorySegment(Vec.B, src, i, Vec.LE)
                    .convertShape(VectorOperators.B2I, Vec.I, 0)).and(0xFF).intoArray(idx, 0);
            FloatVector.fromArray(Vec.F, table, 0, idx, 0).intoMemorySegment(dst, i * 4, Vec.LE);
        }
        for (; i < n; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, table[src.get(Vec.BYTE, i) & 0xFF]);
        }
    }

    /** Scalar twin of {@link #decode(MemorySegment, MemorySegment, long)}. */
    public void decodeScalar(MemorySegment src, MemorySegment dst, long n) {
        Vec.checkBulk(this + " decode", src, 1, dst, 4, n);
        for (long i = 0; i < n; i++) {
            dst.set(Vec.LE_FLOAT, i * 4, table[src.get(Vec.BYTE, i) & 0xFF]);
        }
    }

    /** Array convenience: encodes {@code src[0, n)} into {@code dst[0, n)}. */
    public void encode(float[] src, byte[] dst, int n, boolean saturate) {
        encode(MemorySegment.ofArray(src), MemorySegment.ofArray(dst), n, saturate);
    }

    /** Array convenience: decodes {@code src[0, n)} into {@code dst[0, n)}. */
    public void decode(byte[] src, float[] dst, int n) {
        decode(MemorySegment.ofArray(src), MemorySegment.ofArray(dst), n);
    }
}
