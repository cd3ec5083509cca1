package org.lowbit4j.autograd.formats;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * Block-wise absmax quantization to a {@link FourBitCodebook}, two codes per byte.
 *
 * <p>Layout: element {@code e} of the (flattened) tensor lives in byte {@code e / 2}, in the HIGH nibble when
 * {@code e} is even and the LOW nibble when odd (bitsandbytes' order). Block {@code b} covers elements
 * {@code [b * blockSize, (b + 1) * blockSize)} and has one fp32 absmax; an odd element count leaves the last
 * low nibble 0. Element {@code e} decodes to {@code codebook.value(code) * absmax[e / blockSize]}.
 *
 * <p>Values are normalised as {@code x * (1 / absmax)} (bitsandbytes' order of operations), or {@code x / absmax}
 * for a block so small that {@code 1 / absmax} overflows. Block sizes are powers of two from 32 to 4096. Each kernel has a Vector API path and a scalar twin.
 */
public final class Packed4Codec {
    // NOTE: this codec's lookups are written for 8 lanes (a 16-entry table as two 8-float vectors, 8-byte
    // shuffles), so it keeps its own 256-bit species whatever width Vec uses.
    private static final jdk.incubator.vector.VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final jdk.incubator.vector.VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final jdk.incubator.vector.VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    private static final int LANES8 = 8;
    /** bitsandbytes' default block size. */
    public static final int DEFAULT_BLOCK = 64;

    private Packed4Codec() {
    }

    /**
     * @throws IllegalArgumentException unless blockSize is a power of two in [32, 4096]
     */
    public static void checkBlockSize(int blockSize) {
        if (blockSize < 32 || blockSize > 4096 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size must be a power of two in [32, 4096], got " + blockSize);
        }
    }

    /** @return bytes needed for n packed codes */
    public static long packedBytes(long n) {
        return (n + 1) / 2;
    }

    private static void checkQuantize(int srcLen, int off, int len, int blockSize, int packedLen, int absLen) {
        checkBlockSize(blockSize);
        if (off < 0 || len < 0 || off > srcLen - len) {
            throw new IllegalArgumentException("values [" + off + ", " + ((long) off + len) + ") outside array of "
                    + srcLen);
        }
        if (packedLen < packedBytes(len)) {
            throw new IllegalArgumentException("packed codes need " + packedBytes(len) + " bytes, array has "
                    + packedLen);
        }
        int blocks = BlockwiseMapCodec.blockCount(len, blockSize);
        if (absLen < blocks) {
            throw new IllegalArgumentException("absmax needs " + blocks + " floats, array has " + absLen);
        }
    }

    /**
     * Quantizes {@code src[off, off+len)} as a whole tensor of {@code len} elements.
     *
     * @param packed receives {@code ceil(len / 2)} bytes from index 0
     * @param absmax receives {@code ceil(len / blockSize)} block maxima from index 0
     * @throws IllegalArgumentException on bad sizes or a non-finite value
     */
    public static void quantize(float[] src, int off, int len, FourBitCodebook cb, int blockSize, byte[] packed,
            float[] absmax) {
        checkQuantize(src.length, off, len, blockSize, packed.length, absmax.length);
        int lanes = LANES8;
        float[] th = cb.thresholds();
        int[] sortedCodes = cb.sortedCodes();
        int[] scratch = new int[lanes];
        if ((len & 1) == 1) {
            packed[len / 2] = 0;
        }
        for (int b = 0, start = 0; start < len; b++, start += blockSize) {
            int n = Math.min(blockSize, len - start);
            int base = off + start;
            var acc = FloatVector.zero(F8);
            int i = 0;
            for (; i <= n - lanes; i += lanes) {
                acc = acc.max(FloatVector.fromArray(F8, src, base + i).abs());
            }
            float m = acc.reduceLanes(VectorOperators.MAX);
            for (; i < n; i++) {
                m = Math.max(m, Math.abs(src[base + i]));
            }
            if (!Float.isFinite(m)) {
                throw new IllegalArgumentException("block " + b + " holds a non-finite value (absmax " + m + ")");
            }
            absmax[b] = m;
            float inv = m == 0f ? 0f : 1f / m;
            // NOTE: below about 2.9e-39, 1 / absmax overflows: normalise such a block by division instead.
            boolean divide = Float.isInfinite(inv);
            i = 0;
            // start is even (blockSize is), so element pairs never straddle blocks.
            for (; i <= n - lanes; i += lanes) {
                var x = FloatVector.fromArray(F8, src, base + i);
                var v = divide ? x.div(m) : x.mul(inv);
                var idx = IntVector.zero(I8);
                for (float t : th) {
                    idx = idx.add(1, v.compare(VectorOperators.GT, t).cast(I8));
                }
                idx.intoArray(scratch, 0);
                int p = (start + i) >> 1;
                for (int k = 0; k < lanes; k += 2) {
                    packed[p + (k >> 1)] = (byte) ((sortedCodes[scratch[k]] << 4) | sortedCodes[scratch[k + 1]]);
                }
            }
            for (; i < n; i++) {
                float x = src[base + i];
                put(packed, start + i, cb.encode(divide ? x / m : x * inv));
            }
        }
    }

    /** Scalar twin of {@link #quantize}. */
    public static void quantizeScalar(float[] src, int off, int len, FourBitCodebook cb, int blockSize,
            byte[] packed, float[] absmax) {
        checkQuantize(src.length, off, len, blockSize, packed.length, absmax.length);
        if ((len & 1) == 1) {
            packed[len / 2] = 0;
        }
        for (int b = 0, start = 0; start < len; b++, start += blockSize) {
            int n = Math.min(blockSize, len - start);
            float m = 0f;
            for (int i = 0; i < n; i++) {
                m = Math.max(m, Math.abs(src[off + start + i]));
            }
            if (!Float.isFinite(m)) {
                throw new IllegalArgumentException("block " + b + " holds a non-finite value (absmax " + m + ")");
            }
            absmax[b] = m;
            float inv = m == 0f ? 0f : 1f / m;
            boolean divide = Float.isInfinite(inv);
            for (int i = 0; i < n; i++) {
                float x = src[off + start + i];
                put(packed, start + i, cb.encode(divide ? x / m : x * inv));
            }
        }
    }

    private static void put(byte[] packed, int e, int code) {
        int p = e >> 1;
        packed[p] = (e & 1) == 0
                ? (byte) ((packed[p] & 0x0F) | (code << 4))
                : (byte) ((packed[p] & 0xF0) | code);
    }

    /**
     * @param packed packed codes of the whole tensor
     * @param e element index
     * @return the 4-bit code of element e
     */
    public static int code(byte[] packed, long e) {
        int b = packed[(int) (e >> 1)];
        return (e & 1) == 0 ? (b >> 4) & 15 : b & 15;
    }

    private static void checkDequantize(int packedLen, long start, int len, int blockSize, int absLen, int absOff,
            int dstLen, int dstOff) {
        checkBlockSize(blockSize);
        if (start < 0 || len < 0 || packedBytes(start + len) > packedLen) {
            throw new IllegalArgumentException("elements [" + start + ", " + (start + len) + ") need "
                    + packedBytes(start + len) + " packed bytes, array has " + packedLen);
        }
        if (dstOff < 0 || dstOff > dstLen - len) {
            throw new IllegalArgumentException("destination needs " + len + " floats from " + dstOff
                    + ", array has " + dstLen);
        }
        long blocks = len == 0 ? 0 : (start + len - 1) / blockSize - start / blockSize + 1;
        if (absOff < 0 || absOff + blocks > absLen) {
            throw new IllegalArgumentException("absmax needs " + blocks + " floats from " + absOff
                    + ", array has " + absLen);
        }
    }

    /**
     * Decodes elements {@code [start, start+len)} of a packed tensor; any range works (tiles of rows of a
     * row-major matrix, unaligned starts included).
     *
     * @param packed packed codes of the whole tensor
     * @param absmax block maxima: element e uses {@code absmax[absOff + e/blockSize - start/blockSize]}, so
     *     pass {@code absOff = start/blockSize} with the full array, or 0 with the maxima of just these blocks
     * @param dst receives {@code len} floats from {@code dstOff}
     * @throws IllegalArgumentException on bad ranges
     */
    public static void dequantize(byte[] packed, long start, int len, FourBitCodebook cb, int blockSize,
            float[] absmax, int absOff, float[] dst, int dstOff) {
        checkDequantize(packed.length, start, len, blockSize, absmax.length, absOff, dst.length, dstOff);
        float[] table = cb.table();
        long firstBlock = start / blockSize;
        int i = 0;
        // Scalar head up to an element index that is a multiple of 16 (whole bytes, one block per chunk).
        while (i < len && ((start + i) & 15) != 0) {
            long e = start + i;
            dst[dstOff + i] = table[code(packed, e)] * absmax[(int) (absOff + e / blockSize - firstBlock)];
            i++;
        }
        var lo = FloatVector.fromArray(F8, table, 0);
        var hi = FloatVector.fromArray(F8, table, 8);
        // NOTE: a twin of dequantizeInto with array stores: heap-segment stores ran at half the speed.
        for (; i <= len - 16; i += 16) {
            long e = start + i;
            float m = absmax[(int) (absOff + e / blockSize - firstBlock)];
            var bytes = ByteVector.fromArray(B8, packed, (int) (e >> 1));
            lookup(bytes.rearrange(DUP_LO), lo, hi).mul(m).intoArray(dst, dstOff + i);
            lookup(bytes.rearrange(DUP_HI), lo, hi).mul(m).intoArray(dst, dstOff + i + 8);
        }
        for (; i < len; i++) {
            long e = start + i;
            dst[dstOff + i] = table[code(packed, e)] * absmax[(int) (absOff + e / blockSize - firstBlock)];
        }
    }

    /**
     * As {@link #dequantize(byte[], long, int, FourBitCodebook, int, float[], int, float[], int)}, into memory
     * (for example an ND4J buffer, see {@link Segments#of}).
     *
     * @param dst receives {@code len} little-endian fp32 values from element index {@code dstIndex}
     * @throws IllegalArgumentException on bad ranges
     */
    public static void dequantize(byte[] packed, long start, int len, FourBitCodebook cb, int blockSize,
            float[] absmax, int absOff, MemorySegment dst, long dstIndex) {
        if (dstIndex < 0 || (dstIndex + len) * 4 > dst.byteSize()) {
            throw new IllegalArgumentException("destination needs " + len + " floats from " + dstIndex
                    + ", segment has " + dst.byteSize() / 4);
        }
        checkDequantize(packed.length, start, len, blockSize, absmax.length, absOff, len, 0);
        dequantizeInto(packed, start, len, cb, blockSize, absmax, absOff, dst, dstIndex);
    }

    private static void dequantizeInto(byte[] packed, long start, int len, FourBitCodebook cb, int blockSize,
            float[] absmax, int absOff, MemorySegment dst, long dstIndex) {
        float[] table = cb.table();
        long firstBlock = start / blockSize;
        int i = 0;
        // Scalar head up to an element index that is a multiple of 16 (whole bytes, one block per chunk).
        while (i < len && ((start + i) & 15) != 0) {
            long e = start + i;
            dst.set(Vec.LE_FLOAT, (dstIndex + i) * 4,
                    table[code(packed, e)] * absmax[(int) (absOff + e / blockSize - firstBlock)]);
            i++;
        }
        var lo = FloatVector.fromArray(F8, table, 0);
        var hi = FloatVector.fromArray(F8, table, 8);
        for (; i <= len - 16; i += 16) {
            long e = start + i;
            float m = absmax[(int) (absOff + e / blockSize - firstBlock)];
            var bytes = ByteVector.fromArray(B8, packed, (int) (e >> 1));
            long at = (dstIndex + i) * 4;
            lookup(bytes.rearrange(DUP_LO), lo, hi).mul(m).intoMemorySegment(dst, at, Vec.LE);
            lookup(bytes.rearrange(DUP_HI), lo, hi).mul(m).intoMemorySegment(dst, at + 32, Vec.LE);
        }
        for (; i < len; i++) {
            long e = start + i;
            dst.set(Vec.LE_FLOAT, (dstIndex + i) * 4,
                    table[code(packed, e)] * absmax[(int) (absOff + e / blockSize - firstBlock)]);
        }
    }

    /** Byte lanes 0,0,1,1,2,2,3,3 and 4,4,5,5,6,6,7,7: each byte feeds its high then its low nibble. */
    private static final VectorShuffle<Byte> DUP_LO = VectorShuffle.fromValues(B8, 0, 0, 1, 1, 2, 2, 3, 3);
    private static final VectorShuffle<Byte> DUP_HI = VectorShuffle.fromValues(B8, 4, 4, 5, 5, 6, 6, 7, 7);
    private static final IntVector NIBBLE_SHIFT = IntVector.fromArray(I8, new int[] {4, 0, 4, 0, 4, 0, 4, 0}, 0);

    private static FloatVector lookup(ByteVector dupBytes, FloatVector lo, FloatVector hi) {
        var idx = ((IntVector) dupBytes.convertShape(VectorOperators.B2I, I8, 0)).and(0xFF)
                .lanewise(VectorOperators.LSHR, NIBBLE_SHIFT).and(15);
        VectorShuffle<Float> sh = idx.and(7).toShuffle().cast(F8);
        VectorMask<Float> upper = idx.compare(VectorOperators.GE, 8).cast(F8);
        return lo.rearrange(sh).blend(hi.rearrange(sh), upper);
    }

    /** Scalar twin of {@link #dequantize}. */
    public static void dequantizeScalar(byte[] packed, long start, int len, FourBitCodebook cb, int blockSize,
            float[] absmax, int absOff, float[] dst, int dstOff) {
        checkDequantize(packed.length, start, len, blockSize, absmax.length, absOff, dst.length, dstOff);
        long firstBlock = start / blockSize;
        for (int i = 0; i < len; i++) {
            long e = start + i;
            dst[dstOff + i] = cb.value(code(packed, e)) * absmax[(int) (absOff + e / blockSize - firstBlock)];
        }
    }
}
