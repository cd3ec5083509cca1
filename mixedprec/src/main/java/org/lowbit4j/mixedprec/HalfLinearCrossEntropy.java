package org.lowbit4j.mixedprec;

import java.lang.foreign.MemorySegment;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.Fp16;
import org.lowbit4j.autograd.formats.Segments;
import org.lowbit4j.autograd.ops.LinearCrossEntropy;
import org.lowbit4j.autograd.ops.ScratchPool;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The classifier and its cross-entropy with the classifier in a 16-bit working format: what the policy's rounded
 * linear followed by the fp32 cross-entropy computes, bit for bit, without the [N, V] logits on the tape (the fused
 * primitive's pooled buffer, rounded in place). Softmax and loss stay fp32; dL/dlogits is rounded to the format,
 * and dx, dW are rounded too.
 *
 * <p>With {@code bf16Gemm} the products run on the BF16 GEMM on 2-byte copies (as {@link Bf16Linear}); otherwise on
 * the fp32 GEMM on rounded fp32 copies (as {@link RoundToFormat} around a linear). Operand copies come from
 * {@link ScratchPool} and go back at release.
 *
 * <p>The [N, V] arrays are not rounded or copied in passes of their own: the logits are rounded block of rows by
 * block of rows inside the parent's row loop, just before each block's log-sum-exp
 * ({@link #prepareLogitRows}), and dL/dlogits likewise right after each block is written
 * ({@link #finishGradientRows}: rounded in place, or encoded into the bf16 copy the BF16 GEMM reads). Rounding is
 * element by element, so the bits are those of whole-array rounding.
 *
 * <p>Inputs: x [..., C] FLOAT, w [V, C] FLOAT; targets (constructor) of x's leading shape. Output: a scalar.
 */
public final class HalfLinearCrossEntropy extends LinearCrossEntropy {
    private final HalfFormat format;
    private final boolean bf16Gemm;
    private INDArray xr;   // [N, C] x in the format (BFLOAT16 array, or FLOAT holding rounded values)
    private INDArray wr;   // [V, C] w likewise
    private INDArray gr;   // [N, V] dL/dlogits for the BF16 GEMM (BFLOAT16); null on the fp32 route

    /**
     * @param format the working format
     * @param bf16Gemm run the products on {@link Gemm#gemmBf16} (BF16 only)
     * @param targets integer array of x's leading shape
     * @param ignoreIndex target value that contributes nothing
     * @throws IllegalArgumentException if bf16Gemm is asked for FP16
     */
    public HalfLinearCrossEntropy(HalfFormat format, boolean bf16Gemm, INDArray targets, int ignoreIndex) {
        this(format, bf16Gemm, targets, ignoreIndex, true);
    }

    /**
     * @param parallelRows false to run the row loops on the calling thread only (the same bits; for tests)
     * @throws IllegalArgumentException if bf16Gemm is asked for FP16
     */
    HalfLinearCrossEntropy(HalfFormat format, boolean bf16Gemm, INDArray targets, int ignoreIndex,
            boolean parallelRows) {
        super(targets, ignoreIndex, parallelRows);
        if (bf16Gemm && format != HalfFormat.BF16) {
            throw new IllegalArgumentException("the BF16 GEMM route needs the BF16 format, got " + format);
        }
        this.format = format;
        this.bf16Gemm = bf16Gemm;
    }

    @Override
    protected void logits(INDArray x, INDArray w, INDArray out) {
        xr = rounded(x);
        wr = rounded(w);
        multiply(xr, false, wr, true, out); // [N, V], rounded to the format by prepareLogitRows
    }

    @Override
    protected void prepareLogitRows(INDArray logits, long fromRow, long toRow) {
        roundRowsInPlace(format, logits, fromRow, toRow);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        if (bf16Gemm) {
            gr = ScratchPool.take(DataType.BFLOAT16, xr.size(0), wr.size(0)); // [N, V], filled by finishGradientRows
        }
        return super.backward(g);
    }

    @Override
    protected void finishGradientRows(INDArray dLogits, long fromRow, long toRow) {
        if (bf16Gemm) {
            encodeRowsBf16(dLogits, gr, fromRow, toRow);
        } else {
            roundRowsInPlace(format, dLogits, fromRow, toRow);
        }
    }

    @Override
    protected INDArray inputGradient(INDArray dLogits, INDArray w) {
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, new long[] {dLogits.size(0), wr.size(1)}, 'c'); // [N, C]
        multiply(bf16Gemm ? gr : dLogits, false, wr, false, dx);
        format.roundInPlace(dx);
        return dx;
    }

    @Override
    protected INDArray weightGradient(INDArray dLogits, INDArray x) {
        INDArray dw = Nd4j.createUninitialized(DataType.FLOAT, new long[] {dLogits.size(1), xr.size(1)}, 'c'); // [V, C]
        multiply(bf16Gemm ? gr : dLogits, true, xr, false, dw);
        format.roundInPlace(dw);
        return dw;
    }

    /** out = op(a) op(b) on this route's GEMM (fp32 results, not rounded). */
    private void multiply(INDArray a, boolean transA, INDArray b, boolean transB, INDArray out) {
        if (bf16Gemm) {
            Gemm.gemmBf16(a, transA, b, transB, out, 1f, 0f);
        } else {
            Gemm.gemm(a, transA, b, transB, out, 1.0, 0.0);
        }
    }

    /** Rounds rows [fromRow, toRow) of a dense C-ordered FLOAT [N, V] array to a format, in place. */
    static void roundRowsInPlace(HalfFormat format, INDArray a, long fromRow, long toRow) {
        long v = a.size(1);
        long n = (toRow - fromRow) * v;
        if (n == 0) {
            return;
        }
        MemorySegment rows = Segments.of(a).asSlice(fromRow * v * 4, n * 4);
        switch (format) {
            case BF16 -> Bf16.round(rows, rows, n);
            case FP16 -> Fp16.round(rows, rows, n);
        }
    }

    /**
     * Encodes rows [fromRow, toRow) of a FLOAT [N, V] array into the same rows of a BFLOAT16 one (both dense C order),
     * as {@link org.lowbit4j.autograd.formats.Bf16Arrays#toBf16} does for whole arrays.
     */
    static void encodeRowsBf16(INDArray src, INDArray dst, long fromRow, long toRow) {
        long v = src.size(1);
        long n = (toRow - fromRow) * v;
        if (n > 0) {
            Bf16.encode(Segments.of(src).asSlice(fromRow * v * 4, n * 4), Segments.of(dst).asSlice(fromRow * v * 2, n * 2),
                    n);
        }
    }

    private INDArray rounded(INDArray x) {
        if (bf16Gemm) {
            return Bf16Linear.bf16Copy(x);
        }
        INDArray r = ScratchPool.take(DataType.FLOAT, x.shape());
        r.assign(x);
        format.roundInPlace(r);
        return r;
    }

    @Override
    protected void release() {
        super.release();
        ScratchPool.give(xr);
        ScratchPool.give(wr);
        ScratchPool.give(gr);
        xr = null;
        wr = null;
        gr = null;
    }
}
