package org.lowbit4j.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Ops that write their gradients into {@code Function.gradBuffer} memory: they overwrite every element
 * of recycled (here NaN-poisoned) memory, and a repeated step takes no new memory.
 */
class GradientBufferTest {
    private static final long B = 2;
    private static final long T = 4;
    private static final long C = 12;
    private static final long V = 9;

    private static INDArray uniform(long seed, DataType type, long... shape) {
        Random r = new Random(seed);
        double[] v = new double[(int) Shapes.count(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = 2 * r.nextDouble() - 1;
        }
        return Nd4j.createFromArray(v).reshape(shape).castTo(type);
    }

    private static List<Tensor> params(DataType type) {
        return List.of(Tensor.parameter(uniform(1, type, V, C)), Tensor.parameter(uniform(2, type, C)),
                Tensor.parameter(uniform(3, type, C, C)));
    }

    /** embedding -> RMSNorm -> rope -> mul with a linear -> add: the ops of this change. */
    private static Tensor loss(List<Tensor> p, INDArray tokens) {
        Tensor x = F.embedding(p.get(0), tokens);                                    // [B, T, C]
        Tensor h = F.rmsNorm(x, p.get(1), 1e-5);                                     // [B, T, C]
        Tensor r = F.reshape(F.rope(F.reshape(h, B, T, 3, C / 3), 0, 10000.0), B, T, C); // [B, T, C]
        Tensor y = F.add(x, F.mul(r, F.linear(h, p.get(2))));                        // [B, T, C]
        return F.sum(F.mul(y, y), false);                                            // []
    }

    /** Fills the pool with NaN arrays of the gradient shapes these ops ask for. */
    private static void poison() {
        long[][] shapes = {{V, C}, {C}, {C, C}, {B, T, C}, {B, T, C}, {B, T, C}, {B, T, 3, C / 3}};
        INDArray[] taken = new INDArray[shapes.length];
        for (int i = 0; i < shapes.length; i++) {
            taken[i] = ScratchPool.take(DataType.FLOAT, shapes[i]).assign(Float.NaN);
        }
        for (INDArray a : taken) {
            ScratchPool.give(a);
        }
    }

    @Test
    void recycledMemoryIsOverwrittenEverywhere() {
        INDArray tokens = Nd4j.createFromArray(new long[] {0, 3, 3, 8, 1, 0, 7, 2}).reshape(B, T);
        List<Tensor> ref = params(DataType.DOUBLE);
        loss(ref, tokens).backward();
        List<Tensor> p = params(DataType.FLOAT);
        for (int step = 0; step < 3; step++) {
            poison();
            p.forEach(Tensor::zeroGrad);
            loss(p, tokens).backward();
            for (int i = 0; i < p.size(); i++) {
                INDArray want = ref.get(i).grad();
                INDArray got = p.get(i).grad().castTo(DataType.DOUBLE);
                double err = want.sub(got).amaxNumber().doubleValue() / Math.max(1, want.amaxNumber().doubleValue());
                assertTrue(err < 1e-5, "step " + step + " parameter " + i + ": relative error " + err);
            }
        }
    }

    @Test
    void aRepeatedStepTakesNoNewMemory() {
        INDArray tokens = Nd4j.createFromArray(new long[] {5, 4, 3, 2, 1, 0, 8, 8}).reshape(B, T);
        List<Tensor> p = params(DataType.FLOAT);
        long[] idle = new long[3];
        for (int step = 0; step < 3; step++) {
            p.forEach(Tensor::zeroGrad);
            loss(p, tokens).backward();
            idle[step] = ScratchPool.idleBytes();
        }
        assertTrue(idle[1] > 0, "intermediate gradients went back to the pool");
        assertEquals(idle[1], idle[2], "the second and third steps use the same memory");
    }

    @Test
    void aGradientPassedOnReshapedGoesBackToThePool() {
        // Mul(y, c) writes y's gradient into pooled memory; Reshape hands all of it on, reshaped, to m;
        // once Mul(a, b) has used m's gradient, that memory must be back in the pool (not left to the GC)
        Tensor a = Tensor.parameter(uniform(11, DataType.FLOAT, 3, 5));
        Tensor b = Tensor.parameter(uniform(12, DataType.FLOAT, 3, 5));
        Tensor c = Tensor.constant(uniform(13, DataType.FLOAT, 15));
        INDArray marked = ScratchPool.take(DataType.FLOAT, 15);
        long address = NativeArrays.address(marked);
        ScratchPool.give(marked);
        F.sum(F.mul(F.reshape(F.mul(a, b), 15), c), false).backward();
        List<INDArray> idle = new ArrayList<>();
        boolean found = false;
        while (true) { // take every idle array of 15 floats (a take that frees no idle bytes made a new one)
            long before = ScratchPool.idleBytes();
            INDArray x = ScratchPool.take(DataType.FLOAT, 15);
            idle.add(x);
            if (ScratchPool.idleBytes() == before) {
                break;
            }
            found |= NativeArrays.address(x) == address;
        }
        idle.forEach(ScratchPool::give);
        assertTrue(found, "the reshaped gradient's memory is idle in the pool again");
        INDArray want = c.value().reshape(3, 5);
        assertEquals(want.mul(b.value()), a.grad());
        assertEquals(want.mul(a.value()), b.grad());
    }
}
