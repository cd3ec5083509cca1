package org.lowbit4j.autograd.formats;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * INT-k uniform quantization, k = 2..8: {@code q = clamp(rint(x / scale) + zeroPoint, qmin, qmax)} and
 * {@code x' = (q - zeroPoint) * scale}, with {@code rint} rounding half to even and all arithmetic in float32.
 * Codes are stored one per byte: signed modes as two's complement, {@link Mode#ASYMMETRIC} as unsigned.
 *
 * @param bits k, 2..8
 * @param mode the code range
 */
public record IntCodec(int bits, Mode mode) {
    /** The code range. */
    public enum Mode {
        /**
         * Symmetric, zero point 0, codes in {@code [-(2^(k-1) - 1), 2^(k-1) - 1]}: the default, so that the range
         * is symmetric and -x quantizes to -q (for k = 8: -127..127).
         */
        SYMMETRIC,
        /** Symmetric, zero point 0, the full signed range {@code [-2^(k-1), 2^(k-1) - 1]} (for k = 8: -128..127). */
        SYMMETRIC_FULL,
        /** Asymmetric: unsigned codes {@code [0, 2^k - 1]} with an integer zero point in that range. */
        ASYMMETRIC
    }

    /** Scale and zero point of one quantization group. */
    public record Params(float scale, int zeroPoint) {
        /**
         * @throws IllegalArgumentException unless the scale is positive and finite
         */
        public Params {
            if (!(scale > 0) || !Float.isFinite(scale)) {
                throw new IllegalArgumentException("scale must be positive and finite, got " + scale);
            }
        }
    }

    /**
     * @throws IllegalArgumentException unless 2 <= bits <= 8 and mode is given
     */
    public IntCodec {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("INT-k needs 2 <= k <= 8, got " + bits);
        }
        if (mode == null) {
            throw new IllegalArgumentException("mode must be given");
        }
    }

    /** @return symmetric INT-k (codes ±(2^(k-1) - 1)) */
    public static IntCodec symmetric(int bits) {
        return new IntCodec(bits, Mode.SYMMETRIC);
    }

    /** @return asymmetric INT-k (unsigned codes with a zero point) */
    public static IntCodec asymmetric(int bits) {
        return new IntCodec(bits, Mode.ASYMMETRIC);
    }

    /** @return the smallest code */
    public int qmin() {
        return switch (mode) {
            case SYMMETRIC -> -((1 << (bits - 1)) - 1);
            case SYMMETRIC_FULL -> -(1 << (bits - 1));
            case ASYMMETRIC -> 0;
        };
    }

    /** @return the largest code */
    public int qmax() {
        return switch (mode) {
            case SYMMETRIC, SYMMETRIC_FULL -> (1 << (bits - 1)) - 1;
            case ASYMMETRIC -> (1 << bits) - 1;
        };
    }

    /**
     * Scale and zero point that map the clipping range onto the codes. Symmetric:
     * {@code scale = max(|lo|, |hi|) / qmax}, zero point 0. Asymmetric: the range is widened to include 0, then
     * {@code scale = (hi - lo) / (2^k - 1)} and {@code zeroPoint = clamp(rint(-lo / scale), 0, 2^k - 1)}. An empty
     * range (all zeros) gets scale 1.
     *
     * @param lo lower clipping value
     * @param hi upper clipping value (at least lo)
     * @throws IllegalArgumentException on non-finite or reversed bounds
     */
    public Params params(float lo, float hi) {
        if (!Float.isFinite(lo) || !Float.isFinite(hi) || lo > hi) {
            throw new IllegalArgumentException("clipping range must be finite with lo <= hi, got [" + lo + ", "
                    + hi + "]");
        }
        if (mode != Mode.ASYMMETRIC) {
            float m = Math.max(Math.abs(lo), Math.abs(hi));
            return new Params(m == 0 ? 1f : m / qmax(), 0);
        }
        lo = Math.min(lo, 0f);
        hi = Math.max(hi, 0f);
        if (hi == lo) {
            return new Params(1f, 0);
        }
        float scale = (hi - lo) / qmax();
        int zp = (int) Math.max(0, Math.min(qmax(), Math.rint(-lo / scale)));
        return new Params(scale, zp);
    }

    /** @return the code of x (NaN encodes to the zero point, infinities to the end codes) */
    public int encode(float x, Params p) {
        if (Float.isNaN(x)) {
            return p.zeroPoint();
        }
        float q = (float) Math.rint(x / p.scale()) + p.zeroPoint();
        return (int) Math.max(qmin(), Math.min(qmax(), q));
    }

    /** @return the value of code q */
    public float decode(int q, Params p) {
        return (q - p.zeroPoint()) * p.scale();
    }

    // NOTE: adding and subtracting 1.5 * 2^23 rounds half to even for |v| < 2^22; values are clamped first.
    private static final float ROUND_MAGIC = 12582912f;

    /**
     * Encodes {@code src[off, off+len)} into {@code dst[dstOff, dstOff+len)} (one code per byte).
     *
     * @throws IllegalArgumentException on bad ranges
     */
    public void encode(float[] src, int off, int len, Params p, byte[] dst, int dstOff) {
        checkRange(src.length, off, len, dst.length, dstOff);
        float lo = qmin() - p.zeroPoint();
        float hi = qmax() - p.zeroPoint();
        int i = 0;
        int lanes = Vec.LANES;
        for (; i <= len - lanes; i += lanes) {
            var v = FloatVector.fromArray(Vec.F, src, off + i).div(p.scale()).max(lo).min(hi);
            var q = ((IntVector) v.add(ROUND_MAGIC).sub(ROUND_MAGIC).convert(VectorOperators.F2I, 0))
                    .add(p.zeroPoint());
            ((ByteVector) q.convertShape(VectorOperators.I2B, Vec.B, 0)).intoArray(dst, dstOff + i);
        }
        for (; i < len; i++) {
            dst[dstOff + i] = (byte) encode(src[off + i], p);
        }
    }

    /** Scalar twin of {@link #encode(float[], int, int, Params, byte[], int)}. */
    public void encodeScalar(float[] src, int off, int len, Params p, byte[] dst, int dstOff) {
        checkRange(src.length, off, len, dst.length, dstOff);
        for (int i = 0; i < len; i++) {
            dst[dstOff + i] = (byte) encode(src[off + i], p);
        }
    }

    /**
     * Decodes {@code src[off, off+len)} into {@code dst[dstOff, dstOff+len)}.
     *
     * @throws IllegalArgumentException on bad ranges
     */
    public void decode(byte[] src, int off, int len, Params p, float[] dst, int dstOff) {
        checkRange(src.length, off, len, dst.length, dstOff);
        int i = 0;
        int lanes = Vec.LANES;
        boolean unsigned = mode == Mode.ASYMMETRIC;
        for (; i <= len - lanes; i += lanes) {
            var q = (IntVector) ByteVector.fromArray(Vec.B, src, off + i).convertShape(VectorOperators.B2I, Vec.I, 0);
            if (unsigned) {
                q = q.and(0xFF);
            }
            ((FloatVector) q.sub(p.zeroPoint()).convert(VectorOperators.I2F, 0)).mul(p.scale())
                    .intoArray(dst, dstOff + i);
        }
        for (; i < len; i++) {
            dst[dstOff + i] = decode(code(src[off + i]), p);
        }
    }

    /** Scalar twin of {@link #decode(byte[], int, int, Params, float[], int)}. */
    public void decodeScalar(byte[] src, int off, int len, Params p, float[] dst, int dstOff) {
        checkRange(src.length, off, len, dst.length, dstOff);
        for (int i = 0; i < len; i++) {
            dst[dstOff + i] = decode(code(src[off + i]), p);
        }
    }

    /** @return the code stored in byte b (unsigned for asymmetric, two's complement otherwise) */
    public int code(byte b) {
        return mode == Mode.ASYMMETRIC ? b & 0xFF : b;
    }

    private static void checkRange(int srcLen, int off, int len, int dstLen, int dstOff) {
        if (off < 0 || len < 0 || off > srcLen - len || dstOff < 0 || dstOff > dstLen - len) {
            throw new IllegalArgumentException("range of " + len + " from " + off + " (source " + srcLen
                    + ") to " + dstOff + " (destination " + dstLen + ") is out of bounds");
        }
    }
}
