package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Batched matrix product [..., M, N] x [..., N, P] -> [..., M, P] with NumPy-broadcast batch
 * dimensions: one {@link Gemm} call per batch matrix. Backward: dA = g B^T, dB = A^T g (per batch),
 * summed over the batch dimensions an operand was broadcast along.
 */
public final class MatMul extends Function {
    private long[] shapeA;
    private long[] shapeB;
    private long[] batch;
    private INDArray a3;
    private INDArray b3;

    @Override
    protected INDArray forward(INDArray... in) {
        shapeA = in[0].shape();
        shapeB = in[1].shape();
        if (shapeA.length < 2 || shapeB.length < 2) {
            throw new IllegalArgumentException(name() + ": operands need rank >= 2, got " + Arrays.toString(shapeA)
                    + " and " + Arrays.toString(shapeB));
        }
        long m = shapeA[shapeA.length - 2];
        long n = shapeA[shapeA.length - 1];
        long p = shapeB[shapeB.length - 1];
        if (shapeB[shapeB.length - 2] != n) {
            throw new IllegalArgumentException(name() + ": inner dimensions differ: " + Arrays.toString(shapeA)
                    + " x " + Arrays.toString(shapeB));
        }
        batch = Shapes.broadcast(name() + " batch dims", Arrays.copyOf(shapeA, shapeA.length - 2),
                Arrays.copyOf(shapeB, shapeB.length - 2));
        long bt = Shapes.count(batch);
        a3 = batched(in[0], bt, m, n);
        b3 = batched(in[1], bt, n, p);
        INDArray out3 = Nd4j.create(in[0].dataType(), new long[] {bt, m, p}, 'c');
        for (long i = 0; i < bt; i++) {
            Gemm.gemm(mat(a3, i), false, mat(b3, i), false, mat(out3, i), 1.0, 0.0);
        }
        if (!needsGrad(1)) {
            a3 = null;
        }
        if (!needsGrad(0)) {
            b3 = null;
        }
        return out3.reshape('c', concat(batch, m, p));
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        long bt = Shapes.count(batch);
        long m = shapeA[shapeA.length - 2];
        long n = shapeA[shapeA.length - 1];
        long p = shapeB[shapeB.length - 1];
        INDArray g3 = Shapes.indexable(Shapes.indexable(g).reshape('c', bt, m, p));
        INDArray ga = null;
        INDArray gb = null;
        if (needsGrad(0)) {
            INDArray d = Nd4j.create(g.dataType(), new long[] {bt, m, n}, 'c');
            for (long i = 0; i < bt; i++) {
                Gemm.gemm(mat(g3, i), false, mat(b3, i), true, mat(d, i), 1.0, 0.0);
            }
            ga = Shapes.reduceTo(d.reshape('c', concat(batch, m, n)), shapeA);
        }
        if (needsGrad(1)) {
            INDArray d = Nd4j.create(g.dataType(), new long[] {bt, n, p}, 'c');
            for (long i = 0; i < bt; i++) {
                Gemm.gemm(mat(a3, i), true, mat(g3, i), false, mat(d, i), 1.0, 0.0);
            }
            gb = Shapes.reduceTo(d.reshape('c', concat(batch, n, p)), shapeB);
        }
        return new INDArray[] {ga, gb};
    }

    @Override
    protected void release() {
        a3 = null;
        b3 = null;
    }

    /** @return x broadcast to batch + [r, c] as a dense [bt, r, c] array */
    private INDArray batched(INDArray x, long bt, long r, long c) {
        long[] full = concat(batch, r, c);
        INDArray e = Arrays.equals(x.shape(), full) ? Shapes.indexable(x) : Shapes.expand(x, full);
        return Shapes.indexable(e.reshape('c', bt, r, c));
    }

    /** @return matrix i of a dense [bt, r, c] array, as a C-ordered [r, c] view */
    static INDArray mat(INDArray x3, long i) {
        return x3.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all());
    }

    private static long[] concat(long[] head, long r, long c) {
        long[] s = Arrays.copyOf(head, head.length + 2);
        s[head.length] = r;
        s[head.length + 1] = c;
        return s;
    }
}
