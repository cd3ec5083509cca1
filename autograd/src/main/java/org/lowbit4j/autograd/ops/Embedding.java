package org.lowbit4j.autograd.ops;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Gathers rows of a [V, C] table for integer indices of any shape S, giving [S..., C]. Backward
 * scatter-adds gradient rows into a zero [V, C] table in index order (repeated indices accumulate,
 * deterministically; {@link RowKernels#scatterAddRows} for FLOAT) into {@link #gradBuffer} memory,
 * so a parameter's gradient storage is reused from step to step instead of allocated afresh.
 */
public final class Embedding extends Function {
    private final long[] idx;
    private final long[] indexShape;
    private long vocab;

    /**
     * @param indices integer array of any shape
     * @throws IllegalArgumentException if it is not of an integer type
     */
    public Embedding(INDArray indices) {
        if (!indices.dataType().isIntType()) {
            throw new IllegalArgumentException("Embedding: indices must be an integer array, got " + indices.dataType());
        }
        this.indexShape = indices.shape();
        this.idx = indices.length() == 0 ? new long[0] : Shapes.dense(indices).reshape(indices.length()).toLongVector();
    }

    @Override
    protected INDArray forward(INDArray... in) {
        INDArray w = Shapes.dense(in[0]);
        long[] ws = w.shape();
        if (ws.length != 2) {
            throw new IllegalArgumentException(name() + ": weight must be [V, C], got " + Arrays.toString(ws));
        }
        vocab = ws[0];
        long c = ws[1];
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= vocab) {
                throw new IllegalArgumentException(name() + ": index " + idx[i] + " at flat position " + i
                        + " of indices " + Arrays.toString(indexShape) + " is outside [0, " + vocab + ")");
            }
        }
        long[] outShape = Arrays.copyOf(indexShape, indexShape.length + 1);
        outShape[indexShape.length] = c;
        if (idx.length == 0) {
            return Nd4j.create(w.dataType(), outShape, 'c');
        }
        INDArray out = Nd4j.createUninitialized(w.dataType(), outShape, 'c'); // every row copied below
        Buf src = Buf.of(w);
        Buf dst = Buf.of(out);
        long rowBytes = c * (src.isDouble() ? 8 : 4);
        for (int i = 0; i < idx.length; i++) {
            MemorySegment.copy(src.segment(), idx[i] * rowBytes, dst.segment(), i * rowBytes, rowBytes);
        }
        Reference.reachabilityFence(src);
        Reference.reachabilityFence(dst);
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        int c = (int) g.size(g.rank() - 1);
        INDArray gw = gradBuffer(0); // [V, C]
        if (gw.isEmpty()) {
            return new INDArray[] {gw};
        }
        Buf out = Buf.of(gw);
        out.segment().fill((byte) 0); // all-zero bits: +0.0 in FLOAT and DOUBLE
        if (idx.length > 0) {
            Buf gr = Buf.of(Shapes.dense(g));
            if (out.isDouble()) {
                for (int i = 0; i < idx.length; i++) {
                    long from = (long) i * c;
                    long to = idx[i] * c;
                    for (long j = 0; j < c; j++) {
                        out.set(to + j, out.get(to + j) + gr.get(from + j));
                    }
                }
            } else {
                RowKernels.scatterAddRows(gr.segment(), out.segment(), idx, c);
            }
            Reference.reachabilityFence(gr);
        }
        Reference.reachabilityFence(out);
        return new INDArray[] {gw};
    }
}
