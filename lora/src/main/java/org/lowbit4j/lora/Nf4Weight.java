package org.lowbit4j.lora;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.lowbit4j.autograd.formats.BlockwiseMapCodec;
import org.lowbit4j.autograd.formats.DynamicMaps;
import org.lowbit4j.autograd.formats.FourBitCodebook;
import org.lowbit4j.autograd.formats.Packed4Codec;
import org.lowbit4j.autograd.quant.QuantizedTensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A frozen weight in QLoRA's storage: NF4 codes packed two per byte, block-wise absmax scales that are
 * themselves quantized to 8 bits (double quantization, 256 maxima per fp32 scale, plus one fp32 mean).
 * Quantization is {@link QuantizedTensor#quantize}'s; the bytes are kept in exactly its layout, so
 * {@link #dequantize()} equals {@link QuantizedTensor#dequantize()} bit for bit (tested).
 *
 * <p>Decoding goes through the vectorised {@link Packed4Codec#dequantize} in chunks of
 * {@value #CHUNK} elements into a per-thread scratch array, so a tile costs no allocation beyond its
 * few decoded block maxima.
 */
public final class Nf4Weight implements FrozenWeight {
    /** Elements decoded per call into the scratch array (a multiple of 16 keeps the vector path aligned). */
    static final int CHUNK = 8192;
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[CHUNK]);
    private static final float[] SIGNED8 = DynamicMaps.signed8();

    private final int rows;
    private final int cols;
    private final int blockSize;
    private final byte[] codes;
    private final byte[] absmaxCodes;
    private final float[] absmaxScales;
    private final float absmaxMean;

    Nf4Weight(int rows, int cols, int blockSize, byte[] codes, byte[] absmaxCodes, float[] absmaxScales,
            float absmaxMean) {
        this.rows = rows;
        this.cols = cols;
        this.blockSize = blockSize;
        this.codes = codes;
        this.absmaxCodes = absmaxCodes;
        this.absmaxScales = absmaxScales;
        this.absmaxMean = absmaxMean;
    }

    /**
     * @param weight [out, in], floating point, finite
     * @param blockSize a power of two in [32, 4096] (QLoRA: 64)
     * @throws IllegalArgumentException for a bad shape or block size, more than 2^31 - 9 elements or a
     *     non-finite value
     */
    public static Nf4Weight quantize(INDArray weight, int blockSize) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("NF4 weight must be [out, in], got shape "
                    + java.util.Arrays.toString(weight.shape()));
        }
        var q = QuantizedTensor.quantize(weight.castTo(DataType.FLOAT), FourBitCodebook.NF4, blockSize, true);
        return fromLayout((int) weight.size(0), (int) weight.size(1), blockSize,
                ByteBuffer.wrap(q.toBytes()).order(ByteOrder.LITTLE_ENDIAN), "quantizer output");
    }

    /**
     * @return the number of bytes {@link #toBytes} writes after its 12-byte header, for a weight of this
     *     shape and block size
     */
    static long payloadBytes(long rows, long cols, int blockSize) {
        long n = rows * cols;
        long nb = (n + blockSize - 1) / blockSize;
        long ns = (nb + QuantizedTensor.DOUBLE_QUANT_BLOCK - 1) / QuantizedTensor.DOUBLE_QUANT_BLOCK;
        return Packed4Codec.packedBytes(n) + nb + 4 * ns + 4;
    }

    /**
     * Reads the payload (QuantizedTensor's double-quantized layout) from {@code buf}'s position.
     *
     * @param what names the source in errors
     * @throws IllegalArgumentException if the buffer is short or a scale is not finite
     */
    static Nf4Weight fromLayout(int rows, int cols, int blockSize, ByteBuffer buf, String what) {
        Packed4Codec.checkBlockSize(blockSize);
        long n = (long) rows * cols;
        if (rows <= 0 || cols <= 0 || n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(what + ": bad NF4 shape [" + rows + ", " + cols + "]");
        }
        long need = payloadBytes(rows, cols, blockSize);
        if (buf.remaining() < need) {
            throw new IllegalArgumentException(what + ": NF4 tensor [" + rows + ", " + cols + "] with blocks of "
                    + blockSize + " needs " + need + " bytes, only " + buf.remaining() + " remain");
        }
        int nb = BlockwiseMapCodec.blockCount((int) n, blockSize);
        byte[] codes = new byte[(int) Packed4Codec.packedBytes(n)];
        buf.get(codes);
        byte[] c2 = new byte[nb];
        buf.get(c2);
        float[] s2 = new float[BlockwiseMapCodec.blockCount(nb, QuantizedTensor.DOUBLE_QUANT_BLOCK)];
        for (int i = 0; i < s2.length; i++) {
            s2[i] = buf.getFloat();
            if (!Float.isFinite(s2[i])) {
                throw new IllegalArgumentException(what + ": absmax scale " + i + " is not finite: " + s2[i]);
            }
        }
        float mean = buf.getFloat();
        if (!Float.isFinite(mean)) {
            throw new IllegalArgumentException(what + ": absmax mean is not finite: " + mean);
        }
        return new Nf4Weight(rows, cols, blockSize, codes, c2, s2, mean);
    }

    /** Writes the payload of {@link #fromLayout} ({@link #payloadBytes} bytes) at {@code buf}'s position. */
    void writeLayout(ByteBuffer buf) {
        buf.put(codes).put(absmaxCodes);
        for (float s : absmaxScales) {
            buf.putFloat(s);
        }
        buf.putFloat(absmaxMean);
    }

    /** @return elements per absmax block */
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public BaseFormat format() {
        return BaseFormat.NF4;
    }

    @Override
    public long storageBytes() {
        return codes.length + absmaxCodes.length + 4L * absmaxScales.length + 4;
    }

    @Override
    public void decodeRows(int rowStart, int rowCount, MemorySegment dst) {
        FrozenWeight.checkRows(this, rowStart, rowCount, dst);
        long start = (long) rowStart * cols;
        int len = rowCount * cols;
        if (len == 0) {
            return;
        }
        float[] scratch = SCRATCH.get();
        int firstBlock = (int) (start / blockSize);
        int lastBlock = (int) ((start + len - 1) / blockSize);
        float[] am = new float[lastBlock - firstBlock + 1];
        for (int b = firstBlock; b <= lastBlock; b++) {
            // NOTE: same float expression as QuantizedTensor.blockAbsmax (no FMA), so decoding is bit-identical.
            am[b - firstBlock] = SIGNED8[absmaxCodes[b] & 0xFF] * absmaxScales[b / QuantizedTensor.DOUBLE_QUANT_BLOCK]
                    + absmaxMean;
        }
        for (int done = 0; done < len; ) {
            int n = Math.min(CHUNK, len - done);
            long e = start + done;
            Packed4Codec.dequantize(codes, e, n, FourBitCodebook.NF4, blockSize, am,
                    (int) (e / blockSize - firstBlock), scratch, 0);
            MemorySegment.copy(scratch, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) done * Float.BYTES, n);
            done += n;
        }
    }

    @Override
    public String toString() {
        return "Nf4Weight[" + rows + "x" + cols + ", block " + blockSize + ", " + storageBytes() + " bytes]";
    }
}
