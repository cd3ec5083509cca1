package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Kernels that read ND4J buffers directly must honour views (offset, strides): each op on a view
 * must equal the op on a dense copy, in both FLOAT and DOUBLE.
 */
class ViewInputsTest {

    /** @return rows [1, 1 + n) of a larger array: a dense C-ordered view with a non-zero offset */
    private static INDArray offsetView(DataType type, long n, long... rest) {
        long[] shape = new long[rest.length + 1];
        shape[0] = n + 2;
        System.arraycopy(rest, 0, shape, 1, rest.length);
        INDArray big = TestArrays.uniform(7, -1, 1, shape).castTo(type);
        INDArrayIndexes idx = new INDArrayIndexes(rest.length + 1);
        INDArray v = big.get(idx.first(NDArrayIndex.interval(1, 1 + n)));
        assertTrue(v.isView() && v.offset() > 0);
        return v;
    }

    private record INDArrayIndexes(int rank) {
        org.nd4j.linalg.indexing.INDArrayIndex[] first(org.nd4j.linalg.indexing.INDArrayIndex i0) {
            var out = new org.nd4j.linalg.indexing.INDArrayIndex[rank];
            out[0] = i0;
            for (int i = 1; i < rank; i++) {
                out[i] = NDArrayIndex.all();
            }
            return out;
        }
    }

    private static void same(String what, INDArray view, Function<INDArray, INDArray> op) {
        double[] a = TestArrays.flat(op.apply(view));
        double[] b = TestArrays.flat(op.apply(view.dup('c')));
        assertArrayEquals(b, a, 0.0, what);
    }

    @Test
    void viewsEqualDenseCopies() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            INDArray w = Nd4j.rand(type, 6);
            INDArray x = offsetView(type, 3, 4, 6);
            same("rmsNorm " + type, x, a -> F.rmsNorm(Tensor.constant(a), Tensor.constant(w), 1e-5).value());
            INDArray ids = Nd4j.createFromArray(new long[] {2, 0, 2});
            same("embedding " + type, offsetView(type, 3, 6), a -> F.embedding(Tensor.constant(a), ids).value());
            INDArray tg = Nd4j.createFromArray(new long[] {5, 1, 0, 3, 2, 4, 4, 0, 1, 2, 3, 5}).reshape(3, 4);
            same("crossEntropy " + type, x, a -> F.crossEntropy(Tensor.constant(a), tg, -100).value());
            same("rope " + type, offsetView(type, 2, 3, 2, 4), a -> F.rope(Tensor.constant(a), 1, 10000).value());
            INDArray k = Nd4j.rand(type, 2, 3, 1, 4);
            same("attention " + type, offsetView(type, 2, 3, 2, 4),
                    a -> F.causalAttention(Tensor.constant(a), Tensor.constant(k), Tensor.constant(k)).value());
            INDArray wl = Nd4j.rand(type, 5, 6);
            same("linear " + type, x, a -> F.linear(Tensor.constant(a), Tensor.constant(wl)).value());
            INDArray x3 = offsetView(type, 2, 3, 4);
            same("matmul " + type, x3, a -> F.matmul(Tensor.constant(a), Tensor.constant(Nd4j.ones(type, 2, 4, 2))).value());
            same("slice " + type, x3, a -> F.slice(Tensor.constant(a), 1, 1, 3).value());
            same("concat " + type, x3, a -> F.concat(1, Tensor.constant(a), Tensor.constant(a)).value());
            same("softmax " + type, x3, a -> F.softmax(Tensor.constant(a), 1).value());
            same("silu " + type, x3, a -> F.silu(Tensor.constant(a)).value());
            same("transpose " + type, x3, a -> F.transpose(Tensor.constant(a), 0, 2).value());
            same("sum " + type, x3, a -> F.sum(Tensor.constant(a), false, 1).value());
            // a permuted (non-contiguous) input goes through a dense copy
            INDArray perm = Nd4j.rand(type, 4, 3).permute(1, 0);
            same("rmsNorm permuted " + type, perm,
                    a -> F.rmsNorm(Tensor.constant(a), Tensor.constant(Nd4j.ones(type, 4)), 1e-5).value());
        }
    }
}
