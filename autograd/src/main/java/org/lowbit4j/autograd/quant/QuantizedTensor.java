package org.lowbit4j.autograd.quant;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.lowbit4j.autograd.formats.BlockwiseMapCodec;
import org.lowbit4j.autograd.formats.DynamicMaps;
import org.lowbit4j.autograd.formats.FourBitCodebook;
import org.lowbit4j.autograd.formats.Packed4Codec;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A tensor stored as packed 4-bit codes (NF4, FP4 or INT4) with block-wise absmax scales, optionally with
 * QLoRA's double quantization of those scales. Immutable; frozen base weights of QLoRA use it.
 *
 * <p>Elements are the row-major flattening of {@link #shape()} (for weights {@code [out, in]}), cut into blocks of
 * {@link #blockSize()} consecutive elements (blocks may span rows). Byte layout, as {@link #toBytes()} writes it,
 * {@link #fromBytes} reads it and {@link #sizeInBytes()} counts it (all multi-byte values little-endian):
 * <ol>
 *   <li>codes: {@code ceil(n/2)} bytes; element e sits in byte e/2, high nibble for even e, low nibble for odd e;</li>
 *   <li>without double quantization: {@code ceil(n/blockSize)} fp32 block maxima;</li>
 *   <li>with double quantization: {@code nb = ceil(n/blockSize)} one-byte codes of
 *       {@code absmax - mean} in the signed 8-bit dynamic map ({@link DynamicMaps#signed8()}), then
 *       {@code ceil(nb/256)} fp32 scales (one per 256 absmax values), then the fp32 mean.</li>
 * </ol>
 * So NF4 with blocks of 64 and double quantization costs 4 + 8/64 + 32/(64*256) bits per weight plus 32 bits
 * for the mean: about 4.127. Element e decodes to {@code value(code_e) * absmax[e / blockSize]}, and a
 * double-quantized absmax decodes to {@code signed8[code2_b] * scale2[b / 256] + mean}.
 */
public final class QuantizedTensor {
    /** Absmax values per second-level block in double quantization (QLoRA). */
    public static final int DOUBLE_QUANT_BLOCK = 256;

    private final FourBitCodebook format;
    private final long[] shape;
    private final int numel;
    private final int blockSize;
    private final byte[] codes;
    /** Plain block maxima, or null with double quantization. */
    private final float[] absmax;
    private final byte[] absmaxCodes;
    private final float[] absmaxScales;
    private final float absmaxMean;
    private static final float[] SIGNED8 = DynamicMaps.signed8();

    private QuantizedTensor(FourBitCodebook format, long[] shape, int numel, int blockSize, byte[] codes,
            float[] absmax, byte[] absmaxCodes, float[] absmaxScales, float absmaxMean) {
        this.format = format;
        this.shape = shape;
        this.numel = numel;
        this.blockSize = blockSize;
        this.codes = codes;
        this.absmax = absmax;
        this.absmaxCodes = absmaxCodes;
        this.absmaxScales = absmaxScales;
        this.absmaxMean = absmaxMean;
    }

    /**
     * NF4, blocks of 64, double quantization: QLoRA's storage of frozen weights.
     *
     * @param weights a floating-point array, e.g. [out, in]
     * @return the quantized tensor
     */
    public static QuantizedTensor nf4(INDArray weights) {
        return quantize(weights, FourBitCodebook.NF4, Packed4Codec.DEFAULT_BLOCK, true);
    }

    /**
     * @param weights a floating-point array of any shape (read in row-major order)
     * @param format the 4-bit code book
     * @param blockSize a power of two in [32, 4096]
     * @param doubleQuant whether to quantize the block maxima too
     * @throws IllegalArgumentException on more than 2^31 - 1 elements, a bad block size or a non-finite value
     */
    public static QuantizedTensor quantize(INDArray weights, FourBitCodebook format, int blockSize,
            boolean doubleQuant) {
        if (weights.length() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor of " + weights.length() + " elements is too large (max "
                    + (Integer.MAX_VALUE - 8) + ")");
        }
        float[] data = weights.dup('c').castTo(DataType.FLOAT).data().asFloat();
        return quantize(data, weights.shape(), format, blockSize, doubleQuant);
    }

    /**
     * @param data row-major values; not retained
     * @param shape the logical shape; its product must equal {@code data.length}
     * @throws IllegalArgumentException on a shape mismatch, a bad block size or a non-finite value
     */
    public static QuantizedTensor quantize(float[] data, long[] shape, FourBitCodebook format, int blockSize,
            boolean doubleQuant) {
        Packed4Codec.checkBlockSize(blockSize);
        long prod = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            prod *= d;
        }
        if (prod != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + prod
                    + " elements, data has " + data.length);
        }
        int n = data.length;
        byte[] codes = new byte[(int) Packed4Codec.packedBytes(n)];
        float[] am = new float[BlockwiseMapCodec.blockCount(n, blockSize)];
        Packed4Codec.quantize(data, 0, n, format, blockSize, codes, am);
        if (!doubleQuant) {
            return new QuantizedTensor(format, shape.clone(), n, blockSize, codes, am, null, null, 0f);
        }
        double sum = 0;
        for (float a : am) {
            sum += a;
        }
        // NOTE: the mean is summed in float64 and rounded once; bitsandbytes sums in float32 (differs in ulps).
        float mean = am.length == 0 ? 0f : (float) (sum / am.length);
        float[] centred = new float[am.length];
        for (int i = 0; i < am.length; i++) {
            centred[i] = am[i] - mean;
        }
        byte[] c2 = new byte[am.length];
        float[] s2 = new float[BlockwiseMapCodec.blockCount(am.length, DOUBLE_QUANT_BLOCK)];
        BlockwiseMapCodec.quantize(centred, 0, am.length, SIGNED8, DOUBLE_QUANT_BLOCK, c2, 0, s2, 0);
        return new QuantizedTensor(format, shape.clone(), n, blockSize, codes, null, c2, s2, mean);
    }

    /** @return the code book */
    public FourBitCodebook format() {
        return format;
    }

    /** @return the logical shape (a copy) */
    public long[] shape() {
        return shape.clone();
    }

    /** @return the number of elements */
    public int numel() {
        return numel;
    }

    /** @return elements per absmax block */
    public int blockSize() {
        return blockSize;
    }

    /** @return whether the block maxima are double-quantized */
    public boolean doubleQuantized() {
        return absmax == null;
    }

    /** @return the number of first-level blocks */
    public int blockCount() {
        return BlockwiseMapCodec.blockCount(numel, blockSize);
    }

    /** @return the exact storage size in bytes (the length of {@link #toBytes()}) */
    public long sizeInBytes() {
        long s = codes.length;
        if (absmax != null) {
            return s + 4L * absmax.length;
        }
        return s + absmaxCodes.length + 4L * absmaxScales.length + 4;
    }

    /** @return storage bits per element */
    public double bitsPerWeight() {
        return 8.0 * sizeInBytes() / numel;
    }

    /** @return the packed codes (a copy) */
    public byte[] packedCodes() {
        return codes.clone();
    }

    /**
     * Decodes the block maxima {@code [first, first+count)}.
     *
     * @param dst receives {@code count} floats from {@code dstOff}
     */
    public void blockAbsmax(int first, int count, float[] dst, int dstOff) {
        int nb = blockCount();
        if (first < 0 || count < 0 || first > nb - count) {
            throw new IllegalArgumentException("blocks [" + first + ", " + (first + count) + ") outside 0.." + nb);
        }
        if (absmax != null) {
            System.arraycopy(absmax, first, dst, dstOff, count);
            return;
        }
        for (int i = 0; i < count; i++) {
            int b = first + i;
            dst[dstOff + i] = SIGNED8[absmaxCodes[b] & 0xFF] * absmaxScales[b / DOUBLE_QUANT_BLOCK] + absmaxMean;
        }
    }

    /**
     * Decodes elements {@code [start, start+len)} of the row-major flattening.
     *
     * @param dst receives {@code len} floats from {@code dstOff}
     * @throws IllegalArgumentException on a range outside the tensor or the destination
     */
    public void dequantize(long start, int len, float[] dst, int dstOff) {
        float[] am = absmaxFor(start, len);
        if (len > 0) {
            Packed4Codec.dequantize(codes, start, len, format, blockSize, am, 0, dst, dstOff);
        }
    }

    /**
     * Decodes elements {@code [start, start+len)} into memory, e.g. an ND4J buffer ({@code Segments.of}).
     *
     * @param dst receives {@code len} little-endian fp32 values from element index {@code dstIndex}
     * @throws IllegalArgumentException on a range outside the tensor or the segment
     */
    public void dequantize(long start, int len, MemorySegment dst, long dstIndex) {
        float[] am = absmaxFor(start, len);
        if (len > 0) {
            Packed4Codec.dequantize(codes, start, len, format, blockSize, am, 0, dst, dstIndex);
        }
    }

    /** The decoded maxima of the blocks that elements [start, start+len) touch. */
    private float[] absmaxFor(long start, int len) {
        if (start < 0 || len < 0 || start + len > numel) {
            throw new IllegalArgumentException("elements [" + start + ", " + (start + len) + ") outside tensor of "
                    + numel);
        }
        if (len == 0) {
            return new float[0];
        }
        int first = (int) (start / blockSize);
        int last = (int) ((start + len - 1) / blockSize);
        float[] am = new float[last - first + 1];
        blockAbsmax(first, am.length, am, 0);
        return am;
    }

    private int cols() {
        if (shape.length != 2) {
            throw new IllegalStateException("row access needs a 2-D tensor, shape is " + Arrays.toString(shape));
        }
        return (int) shape[1];
    }

    /**
     * Decodes rows {@code [rowStart, rowStart+rowCount)} of a 2-D tensor into a row-major tile.
     *
     * @param dst receives {@code rowCount * cols} floats from {@code dstOff}
     * @throws IllegalStateException if the tensor is not 2-D
     * @throws IllegalArgumentException on a row range outside the tensor or a short destination
     */
    public void dequantizeRows(int rowStart, int rowCount, float[] dst, int dstOff) {
        int cols = cols();
        if (rowStart < 0 || rowCount < 0 || rowStart + (long) rowCount > shape[0]) {
            throw new IllegalArgumentException("rows [" + rowStart + ", " + (rowStart + rowCount) + ") outside 0.."
                    + shape[0]);
        }
        dequantize((long) rowStart * cols, rowCount * cols, dst, dstOff);
    }

    /**
     * Decodes rows into an ND4J array (a tile for a linear layer).
     *
     * @param dst a C-ordered, contiguous FLOAT array of exactly {@code rowCount * cols} elements (any shape,
     *     e.g. {@code [rowCount, cols]})
     * @throws IllegalArgumentException on a wrong data type, order, length or non-contiguous view
     */
    public void dequantizeRows(int rowStart, int rowCount, INDArray dst) {
        int cols = cols();
        long n = (long) rowCount * cols;
        if (dst.dataType() != DataType.FLOAT || dst.ordering() != 'c' || dst.length() != n
                || dst.elementWiseStride() != 1) {
            throw new IllegalArgumentException("destination must be a contiguous C-ordered FLOAT array of " + n
                    + " elements, got " + dst.dataType() + " '" + dst.ordering() + "' of " + dst.length()
                    + " elements (stride " + dst.elementWiseStride() + ")");
        }
        if (rowStart < 0 || rowCount < 0 || rowStart + (long) rowCount > shape[0]) {
            throw new IllegalArgumentException("rows [" + rowStart + ", " + (rowStart + rowCount) + ") outside 0.."
                    + shape[0]);
        }
        dequantize((long) rowStart * cols, (int) n, Segments.of(dst), 0);
    }

    /** @return all elements as a new row-major float array */
    public float[] dequantizeToArray() {
        float[] out = new float[numel];
        dequantize(0, numel, out, 0);
        return out;
    }

    /** @return a new FLOAT array of {@link #shape()} */
    public INDArray dequantize() {
        return Nd4j.create(dequantizeToArray(), shape, 'c');
    }

    /** @return the storage bytes in the layout of the class documentation, {@link #sizeInBytes()} long */
    public byte[] toBytes() {
        var buf = java.nio.ByteBuffer.allocate(Math.toIntExact(sizeInBytes())).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        buf.put(codes);
        if (absmax != null) {
            for (float a : absmax) {
                buf.putFloat(a);
            }
        } else {
            buf.put(absmaxCodes);
            for (float s : absmaxScales) {
                buf.putFloat(s);
            }
            buf.putFloat(absmaxMean);
        }
        return buf.array();
    }

    /**
     * Rebuilds a tensor from {@link #toBytes()} output; the header fields are stored by the caller.
     *
     * @param bytes the storage bytes
     * @param format the code book
     * @param shape the logical shape
     * @param blockSize the block size used when quantizing
     * @param doubleQuant whether the maxima were double-quantized
     * @throws IllegalArgumentException if the byte count does not match the layout, or a stored absmax / scale /
     *     mean is negative or not finite
     */
    public static QuantizedTensor fromBytes(byte[] bytes, FourBitCodebook format, long[] shape, int blockSize,
            boolean doubleQuant) {
        Packed4Codec.checkBlockSize(blockSize);
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds too many elements");
        }
        int numel = (int) n;
        int nb = BlockwiseMapCodec.blockCount(numel, blockSize);
        int nb2 = BlockwiseMapCodec.blockCount(nb, DOUBLE_QUANT_BLOCK);
        long codeBytes = Packed4Codec.packedBytes(numel);
        long want = codeBytes + (doubleQuant ? nb + 4L * nb2 + 4 : 4L * nb);
        if (bytes.length != want) {
            throw new IllegalArgumentException("quantized tensor " + Arrays.toString(shape) + " (" + format + ", block "
                    + blockSize + (doubleQuant ? ", double quant" : "") + ") needs " + want + " bytes, got "
                    + bytes.length);
        }
        var buf = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        byte[] codes = new byte[(int) codeBytes];
        buf.get(codes);
        if (!doubleQuant) {
            float[] am = new float[nb];
            for (int i = 0; i < nb; i++) {
                am[i] = checkedScale(buf.getFloat(), "absmax", i);
            }
            return new QuantizedTensor(format, shape.clone(), numel, blockSize, codes, am, null, null, 0f);
        }
        byte[] c2 = new byte[nb];
        buf.get(c2);
        float[] s2 = new float[nb2];
        for (int i = 0; i < nb2; i++) {
            s2[i] = checkedScale(buf.getFloat(), "absmax scale", i);
        }
        float mean = checkedScale(buf.getFloat(), "absmax mean", 0);
        return new QuantizedTensor(format, shape.clone(), numel, blockSize, codes, null, c2, s2, mean);
    }

    private static float checkedScale(float v, String what, int index) {
        if (!(v >= 0) || !Float.isFinite(v)) {
            throw new IllegalArgumentException(what + " " + index + " must be finite and non-negative, got " + v);
        }
        return v;
    }

    @Override
    public String toString() {
        return "QuantizedTensor[" + format + (doubleQuantized() ? "+DQ" : "") + ", shape " + Arrays.toString(shape)
                + ", block " + blockSize + ", " + sizeInBytes() + " bytes]";
    }
}
