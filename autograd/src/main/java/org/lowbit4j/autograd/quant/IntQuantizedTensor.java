package org.lowbit4j.autograd.quant;

import java.util.Arrays;
import org.lowbit4j.autograd.formats.IntCodec;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A tensor stored as densely packed INT-k codes with group-wise scales and, for asymmetric codecs, zero points:
 * the usual storage of GPTQ/AWQ-style weights. Immutable.
 *
 * <p>The tensor is viewed as rows of its last dimension C (a weight {@code [out, in]} has {@code out} rows of
 * {@code in}); each row is cut into groups of {@link #groupSize()} consecutive elements (the last group of a row
 * may be shorter; {@code groupSize = C} is per-channel). Group {@code g} of row {@code r} has index
 * {@code r * ceil(C / groupSize) + g}. Byte layout, as {@link #toBytes()} writes it and {@link #sizeInBytes()}
 * counts it (little-endian):
 * <ol>
 *   <li>codes: {@code ceil(n * k / 8)} bytes; element e occupies bits {@code [e*k, e*k + k)} of the stream, bit 0
 *       being the least significant bit of byte 0 (signed codes in k-bit two's complement);</li>
 *   <li>one fp32 scale per group;</li>
 *   <li>asymmetric codecs only: one unsigned byte zero point per group.</li>
 * </ol>
 * Element e decodes to {@code (q - zeroPoint) * scale} in float32.
 */
public final class IntQuantizedTensor {
    private final IntCodec codec;
    private final long[] shape;
    private final int numel;
    private final int cols;
    private final int groupSize;
    private final int groupsPerRow;
    private final byte[] codes;
    private final float[] scales;
    private final byte[] zeroPoints;

    private IntQuantizedTensor(IntCodec codec, long[] shape, int numel, int cols, int groupSize, byte[] codes,
            float[] scales, byte[] zeroPoints) {
        this.codec = codec;
        this.shape = shape;
        this.numel = numel;
        this.cols = cols;
        this.groupSize = groupSize;
        this.groupsPerRow = cols == 0 ? 0 : (cols + groupSize - 1) / groupSize;
        this.codes = codes;
        this.scales = scales;
        this.zeroPoints = zeroPoints;
    }

    /**
     * @param weights a floating-point array (read row-major)
     * @param codec INT-k codec
     * @param groupSize elements per group along the last dimension (positive)
     * @param method how each group's clipping range is chosen
     * @throws IllegalArgumentException on a bad group size, more than 2^31 - 9 elements or non-finite values
     */
    public static IntQuantizedTensor quantize(INDArray weights, IntCodec codec, int groupSize, ScaleMethod method) {
        if (weights.length() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor of " + weights.length() + " elements is too large");
        }
        return quantize(weights.dup('c').castTo(DataType.FLOAT).data().asFloat(), weights.shape(), codec, groupSize,
                method);
    }

    /**
     * @param data row-major values (not retained)
     * @param shape logical shape; its product must equal {@code data.length}
     * @see #quantize(INDArray, IntCodec, int, ScaleMethod)
     */
    public static IntQuantizedTensor quantize(float[] data, long[] shape, IntCodec codec, int groupSize,
            ScaleMethod method) {
        if (groupSize <= 0) {
            throw new IllegalArgumentException("group size must be positive, got " + groupSize);
        }
        long prod = 1;
        for (long d : shape) {
            prod *= d;
        }
        if (prod != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + prod
                    + " elements, data has " + data.length);
        }
        int cols = shape.length == 0 ? 1 : (int) shape[shape.length - 1];
        var t = new IntQuantizedTensor(codec, shape.clone(), data.length, cols, Math.min(groupSize, Math.max(cols, 1)),
                new byte[(int) (((long) data.length * codec.bits() + 7) / 8)],
                null, null);
        int groups = t.groupCount();
        float[] scales = new float[groups];
        byte[] zps = codec.mode() == IntCodec.Mode.ASYMMETRIC ? new byte[groups] : null;
        var format = new ElementFormat.Int(codec);
        double[] buf = new double[t.groupSize];
        int mask = (1 << codec.bits()) - 1;
        for (int g = 0; g < groups; g++) {
            int start = t.groupStart(g);
            int len = t.groupLength(g);
            for (int i = 0; i < len; i++) {
                buf[i] = data[start + i];
            }
            var p = method.choose(format, buf, 0, len);
            scales[g] = p.scale();
            if (zps != null) {
                zps[g] = (byte) p.zeroPoint();
            }
            var ip = new IntCodec.Params(p.scale(), p.zeroPoint());
            for (int i = 0; i < len; i++) {
                putBits(t.codes, (long) (start + i) * codec.bits(), codec.bits(), codec.encode(data[start + i], ip) & mask);
            }
        }
        return new IntQuantizedTensor(codec, t.shape, t.numel, cols, t.groupSize, t.codes, scales, zps);
    }

    private int groupCount() {
        return cols == 0 ? 0 : numel / cols * groupsPerRow;
    }

    private int groupStart(int g) {
        return g / groupsPerRow * cols + g % groupsPerRow * groupSize;
    }

    private int groupLength(int g) {
        return Math.min(groupSize, cols - g % groupsPerRow * groupSize);
    }

    private static void putBits(byte[] b, long bit, int k, int v) {
        for (int j = 0; j < k; j++, bit++) {
            if (((v >>> j) & 1) != 0) {
                b[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
            }
        }
    }

    private int getCode(long e) {
        int k = codec.bits();
        long bit = e * k;
        int v = 0;
        // NOTE: read up to two bytes little-endian; k <= 8 so a code spans at most two.
        int byteIdx = (int) (bit >>> 3);
        int word = codes[byteIdx] & 0xFF;
        if (byteIdx + 1 < codes.length) {
            word |= (codes[byteIdx + 1] & 0xFF) << 8;
        }
        v = (word >>> (bit & 7)) & ((1 << k) - 1);
        if (codec.mode() != IntCodec.Mode.ASYMMETRIC && v >= 1 << (k - 1)) {
            v -= 1 << k;
        }
        return v;
    }

    /** @return the codec */
    public IntCodec codec() {
        return codec;
    }

    /** @return the logical shape (a copy) */
    public long[] shape() {
        return shape.clone();
    }

    /** @return elements per group along the last dimension */
    public int groupSize() {
        return groupSize;
    }

    /** @return the scale of each group (a copy) */
    public float[] scales() {
        return scales.clone();
    }

    /** @return the zero point of each group (unsigned), or null for a symmetric codec */
    public int[] zeroPoints() {
        if (zeroPoints == null) {
            return null;
        }
        int[] z = new int[zeroPoints.length];
        for (int i = 0; i < z.length; i++) {
            z[i] = zeroPoints[i] & 0xFF;
        }
        return z;
    }

    /** @return the exact storage size in bytes (the length of {@link #toBytes()}) */
    public long sizeInBytes() {
        return codes.length + 4L * scales.length + (zeroPoints == null ? 0 : zeroPoints.length);
    }

    /** @return storage bits per element */
    public double bitsPerWeight() {
        return 8.0 * sizeInBytes() / numel;
    }

    /**
     * Decodes elements {@code [start, start+len)} of the row-major flattening.
     *
     * @throws IllegalArgumentException on a range outside the tensor or the destination
     */
    public void dequantize(long start, int len, float[] dst, int dstOff) {
        if (start < 0 || len < 0 || start + len > numel || dstOff < 0 || dstOff > dst.length - len) {
            throw new IllegalArgumentException("elements [" + start + ", " + (start + len) + ") of " + numel
                    + " into " + dst.length + " floats from " + dstOff + " are out of bounds");
        }
        for (int i = 0; i < len; i++) {
            long e = start + i;
            int row = (int) (e / cols);
            int g = row * groupsPerRow + (int) (e % cols) / groupSize;
            int zp = zeroPoints == null ? 0 : zeroPoints[g] & 0xFF;
            dst[dstOff + i] = (getCode(e) - zp) * scales[g];
        }
    }

    /**
     * Decodes rows {@code [rowStart, rowStart+rowCount)} (rows of the last dimension) into a row-major tile.
     *
     * @throws IllegalArgumentException on a row range outside the tensor or a short destination
     */
    public void dequantizeRows(int rowStart, int rowCount, float[] dst, int dstOff) {
        int rows = cols == 0 ? 0 : numel / cols;
        if (rowStart < 0 || rowCount < 0 || rowStart + (long) rowCount > rows) {
            throw new IllegalArgumentException("rows [" + rowStart + ", " + (rowStart + rowCount) + ") outside 0.."
                    + rows);
        }
        dequantize((long) rowStart * cols, rowCount * cols, dst, dstOff);
    }

    /** @return a new FLOAT array of {@link #shape()} */
    public INDArray dequantize() {
        float[] out = new float[numel];
        dequantize(0, numel, out, 0);
        return shape.length == 0 ? Nd4j.scalar(out[0]) : Nd4j.create(out, shape, 'c');
    }

    /** @return the storage bytes in the layout of the class documentation */
    public byte[] toBytes() {
        var buf = java.nio.ByteBuffer.allocate(Math.toIntExact(sizeInBytes())).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        buf.put(codes);
        for (float s : scales) {
            buf.putFloat(s);
        }
        if (zeroPoints != null) {
            buf.put(zeroPoints);
        }
        return buf.array();
    }

    @Override
    public String toString() {
        return "IntQuantizedTensor[int" + codec.bits() + " " + codec.mode() + ", shape " + Arrays.toString(shape)
                + ", group " + groupSize + ", " + sizeInBytes() + " bytes]";
    }
}
