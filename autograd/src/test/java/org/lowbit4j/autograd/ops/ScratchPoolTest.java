package org.lowbit4j.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The per-thread scratch pool, and that primitives using it do not depend on stale contents. */
class ScratchPoolTest {

    @Test
    void reusesMemoryOfEqualLengthAndType() {
        INDArray a = ScratchPool.take(DataType.FLOAT, 2, 3, 5);
        long address = NativeArrays.address(a);
        ScratchPool.give(a);
        INDArray b = ScratchPool.take(DataType.FLOAT, 5, 6);
        assertEquals(address, NativeArrays.address(b));
        assertArrayEquals(new long[] {5, 6}, b.shape());
        assertEquals('c', b.ordering());
        INDArray c = ScratchPool.take(DataType.FLOAT, 5, 6); // the only one is lent: a new array
        assertNotEquals(address, NativeArrays.address(c));
        ScratchPool.give(b);
        INDArray d = ScratchPool.take(DataType.DOUBLE, 5, 6); // other type: not the pooled FLOAT one
        assertNotEquals(address, NativeArrays.address(d));
        ScratchPool.give(c);
        ScratchPool.give(d);
    }

    /**
     * ND4J's reshape wraps the buffer in one more buffer object each time: an array reshaped on every take and
     * handed back reshaped (as Bf16Linear does with its operand copies) must not grow that chain step by step.
     */
    @Test
    void reshapedReuseKeepsTheBufferChainShort() {
        INDArray first = ScratchPool.take(DataType.BFLOAT16, 6, 8);
        long address = NativeArrays.address(first);
        ScratchPool.give(first.reshape('c', new long[] {48}));
        for (int step = 0; step < 200; step++) {
            INDArray a = ScratchPool.take(DataType.BFLOAT16, step % 2 == 0 ? new long[] {8, 6} : new long[] {4, 12});
            assertEquals(address, NativeArrays.address(a), "step " + step + " reuses the pooled memory");
            ScratchPool.give(a.reshape('c', 2, 24)); // the user's own view goes back
        }
        INDArray last = ScratchPool.take(DataType.BFLOAT16, 3, 16);
        int depth = 0;
        for (var buf = last.data(); buf.underlyingDataBuffer() != null && buf.underlyingDataBuffer() != buf;
                buf = buf.underlyingDataBuffer()) {
            depth++;
        }
        assertEquals(0, depth, "buffer objects between the array and its memory");
        ScratchPool.give(last);
    }

    @Test
    void anArrayGivenTwiceIsLentOnce() {
        INDArray a = ScratchPool.take(DataType.FLOAT, 7, 11);
        long before = ScratchPool.idleBytes();
        ScratchPool.give(a);
        ScratchPool.give(a);
        assertEquals(before + 7 * 11 * 4, ScratchPool.idleBytes());
        INDArray b = ScratchPool.take(DataType.FLOAT, 7, 11);
        INDArray c = ScratchPool.take(DataType.FLOAT, 7, 11);
        assertNotEquals(NativeArrays.address(b), NativeArrays.address(c));
    }

    /** Fills the pool with NaN arrays of the given FLOAT shapes (as a previous step would leave them). */
    private static void poison(long[]... shapes) {
        INDArray[] taken = new INDArray[shapes.length];
        for (int i = 0; i < shapes.length; i++) {
            taken[i] = ScratchPool.take(DataType.FLOAT, shapes[i]).assign(Float.NaN);
        }
        for (INDArray a : taken) {
            ScratchPool.give(a);
        }
    }

    private static INDArray random(long seed, long... shape) {
        Random r = new Random(seed);
        INDArray a = Nd4j.create(DataType.FLOAT, shape, 'c');
        for (long i = 0; i < a.length(); i++) {
            a.putScalar(i, r.nextFloat() * 2 - 1);
        }
        return a;
    }

    /** Runs f on fresh parameters and returns the loss value followed by every gradient, flattened. */
    private static double[][] run(Supplier<Tensor[]> params, java.util.function.Function<Tensor[], Tensor> f) {
        Tensor[] p = params.get();
        Tensor loss = f.apply(p);
        loss.backward();
        double[][] out = new double[p.length + 1][];
        out[0] = new double[] {loss.value().getDouble(0)};
        for (int i = 0; i < p.length; i++) {
            out[i + 1] = p[i].grad().dup('c').castTo(DataType.DOUBLE).reshape(p[i].grad().length()).toDoubleVector();
        }
        return out;
    }

    @Test
    void attentionIgnoresStaleScratchContents() {
        // grouped heads (H = 4, K = 2): dk and dv are first written with beta = 0, then accumulated
        Supplier<Tensor[]> params = () -> new Tensor[] {Tensor.parameter(random(1, 2, 5, 4, 3)),
            Tensor.parameter(random(2, 2, 5, 2, 3)), Tensor.parameter(random(3, 2, 5, 2, 3))};
        java.util.function.Function<Tensor[], Tensor> f =
                p -> F.sum(F.mul(F.causalAttention(p[0], p[1], p[2]), Tensor.constant(random(4, 2, 5, 4, 3))), false);
        double[][] first = run(params, f);
        poison(new long[] {2, 4, 5, 5}, new long[] {5, 5});
        double[][] second = run(params, f);
        for (int i = 0; i < first.length; i++) {
            assertArrayEquals(first[i], second[i], 0.0, "output " + i);
        }
    }

    @Test
    void linearCrossEntropyIgnoresStaleScratchContents() {
        INDArray t = Nd4j.createFromArray(new long[] {3, -100, 0, 8, 8, 1}).reshape(2, 3);
        Supplier<Tensor[]> params = () -> new Tensor[] {Tensor.parameter(random(5, 2, 3, 4)),
            Tensor.parameter(random(6, 9, 4))};
        java.util.function.Function<Tensor[], Tensor> f = p -> F.linearCrossEntropy(p[0], p[1], t, -100);
        double[][] first = run(params, f);
        poison(new long[] {6, 9});
        double[][] second = run(params, f);
        for (int i = 0; i < first.length; i++) {
            assertArrayEquals(first[i], second[i], 0.0, "output " + i);
        }
    }
}
