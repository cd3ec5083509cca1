package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Gradient memory: parameters keep theirs across {@link Tensor#zeroGrad()} and the engine recycles
 * intermediate gradients, yet no gradient ever shows a stale value: every gradient equals the one a
 * fresh parameter of the same value gets, bit for bit.
 */
class GradientMemoryTest {
    private static final long B = 2;
    private static final long T = 3;
    private static final long C = 8;
    private static final long V = 10;

    /** Embedding, RMSNorm, linear, reshape, rope, mul, add: every op that writes into gradient memory. */
    private record Model(Tensor emb, Tensor norm, Tensor w1, Tensor w2) {
        static Model random(DataType type, long seed) {
            return new Model(param(type, seed, V, C), param(type, seed + 1, C), param(type, seed + 2, C, C),
                    param(type, seed + 3, C, C));
        }

        /** The same values in new parameters (no gradient memory yet). */
        Model fresh() {
            return new Model(Tensor.parameter(emb.value().dup()), Tensor.parameter(norm.value().dup()),
                    Tensor.parameter(w1.value().dup()), Tensor.parameter(w2.value().dup()));
        }

        List<Tensor> params() {
            return List.of(emb, norm, w1, w2);
        }

        Tensor loss(INDArray tokens, boolean useW2) {
            Tensor x = F.embedding(emb, tokens);                               // [B, T, C]
            Tensor h = F.rmsNorm(x, norm, 1e-5);                               // [B, T, C]
            Tensor q = F.rope(F.reshape(F.linear(h, w1), B, T, 2, C / 2), 0, 10000.0); // [B, T, 2, C/2]
            Tensor m = F.mul(F.reshape(q, B, T, C), useW2 ? F.linear(h, w2) : h); // [B, T, C]
            Tensor y = F.add(x, m);                                            // [B, T, C]
            return F.sum(F.mul(y, y), false);                                  // []
        }

        void zeroGrad() {
            params().forEach(Tensor::zeroGrad);
        }
    }

    private static Tensor param(DataType type, long seed, long... shape) {
        return Tensor.parameter(TestArrays.uniform(seed, -1, 1, shape).castTo(type));
    }

    private static INDArray tokens(long... ids) {
        return Nd4j.createFromArray(ids).reshape(B, T);
    }

    /** Asserts that each parameter's gradient equals, bit for bit, what a fresh copy of the model gets. */
    private static void assertFreshGradients(Model m, Function<Model, Tensor> loss, String what) {
        Model f = m.fresh();
        loss.apply(f).backward();
        for (int i = 0; i < 4; i++) {
            INDArray want = f.params().get(i).grad();
            INDArray got = m.params().get(i).grad();
            if (want == null) {
                assertNull(got, what + ": parameter " + i + " got a gradient");
            } else {
                assertArrayEquals(TestArrays.flat(want), TestArrays.flat(got), 0.0, what + ": parameter " + i);
            }
        }
    }

    @Test
    void reusedMemoryNeverLeaksAStaleGradient() {
        Model m = Model.random(DataType.FLOAT, 10);
        INDArray t1 = tokens(0, 1, 1, 2, 3, 0);
        INDArray t2 = tokens(5, 6, 7, 7, 8, 9); // no token of step 1: their embedding rows must read zero
        m.loss(t1, true).backward();
        assertFreshGradients(m, f -> f.loss(t1, true), "step 1");
        INDArray embGrad = m.emb().grad();
        INDArray normGrad = m.norm().grad();
        INDArray w2Grad = m.w2().grad();

        m.zeroGrad();
        assertTrue(m.params().stream().allMatch(p -> p.grad() == null), "zeroGrad leaves no gradient");
        m.loss(t2, false).backward(); // w2 unused
        assertNull(m.w2().grad(), "a parameter unused in step 2 has no gradient");
        assertFreshGradients(m, f -> f.loss(t2, false), "step 2");
        assertEquals(0.0, m.emb().grad().getRow(0).norm1Number().doubleValue(), "row of a token only step 1 used");
        assertSame(embGrad, m.emb().grad(), "the embedding's gradient memory is reused");
        assertSame(normGrad, m.norm().grad(), "the norm weight's gradient memory is reused");

        m.zeroGrad();
        m.loss(t1, true).backward();
        assertFreshGradients(m, f -> f.loss(t1, true), "step 3");
        assertSame(w2Grad, m.w2().grad(), "w2's gradient memory is kept while it was unused");
    }

    @Test
    void gradientsStillAccumulateAcrossBackwardCallsIntoKeptMemory() {
        Model m = Model.random(DataType.FLOAT, 20);
        INDArray t = tokens(1, 2, 3, 3, 2, 1);
        m.loss(t, true).backward();
        m.zeroGrad();
        m.loss(t, true).backward();
        m.loss(t, true).backward();
        Model f = m.fresh();
        f.loss(t, true).backward();
        for (int i = 0; i < 4; i++) {
            INDArray twice = f.params().get(i).grad().mul(2); // x + x = 2x exactly
            assertArrayEquals(TestArrays.flat(twice), TestArrays.flat(m.params().get(i).grad()), 0.0, "parameter " + i);
        }
    }

    @Test
    void aParameterUsedTwiceByOneOp() {
        Tensor w = param(DataType.FLOAT, 30, 4, 5);
        INDArray seed = TestArrays.uniform(31, -1, 1, 4, 5).castTo(DataType.FLOAT);
        for (int step = 0; step < 3; step++) {
            w.zeroGrad();
            F.mul(w, w).backward(seed);
            // d(w w)/dw = g w + g w, summed in that order
            INDArray gw = seed.mul(w.value());
            assertArrayEquals(TestArrays.flat(gw.add(gw)), TestArrays.flat(w.grad()), 0.0, "step " + step);
        }
    }

    @Test
    void anArrayGivenToSetGradIsNeverReused() {
        Model m = Model.random(DataType.FLOAT, 40);
        INDArray t = tokens(4, 4, 5, 6, 7, 8);
        m.loss(t, true).backward();
        INDArray mine = Nd4j.ones(DataType.FLOAT, C);
        m.norm().setGrad(mine);
        m.zeroGrad();
        m.loss(t, true).backward();
        assertEquals(Nd4j.ones(DataType.FLOAT, C), mine, "the caller's array is untouched");
        assertNotSame(mine, m.norm().grad());
        assertFreshGradients(m, f -> f.loss(t, true), "after setGrad");
    }

    @Test
    void gradientsAreRightWithRecycledMemory() {
        // finite differences in double: the recycled intermediates (views of them included) carry the right values
        Model m = Model.random(DataType.DOUBLE, 50);
        INDArray t = tokens(0, 9, 9, 3, 1, 0);
        for (int run = 0; run < 2; run++) { // the second run writes into the kept memory
            GradientCheck.assertGradients("recycled gradient memory", () -> m.loss(t, true), m.emb(), m.norm(),
                    m.w1(), m.w2());
        }
    }

    /** Returns the gradBuffer of input 0 as the gradient of both inputs: a contract violation. */
    private static final class SharesItsBuffer extends org.lowbit4j.autograd.Function {
        @Override
        protected INDArray forward(INDArray... in) {
            return in[0].add(in[1]);
        }

        @Override
        protected INDArray[] backward(INDArray g) {
            INDArray b = gradBuffer(0).assign(g);
            return new INDArray[] {b, b};
        }
    }

    @Test
    void aGradBufferReturnedTwiceIsRefused() {
        Tensor a = param(DataType.FLOAT, 60, 3);
        Tensor b = param(DataType.FLOAT, 61, 3);
        Tensor y = new SharesItsBuffer().apply(a, b);
        INDArray seed = Nd4j.ones(DataType.FLOAT, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> y.backward(seed));
        assertTrue(e.getMessage().contains("gradBuffer(0) also as gradient 1"), e.getMessage());
    }

    @Test
    void gradBufferIsOnlyForBackward() {
        var f = new org.lowbit4j.autograd.Function() {
            @Override
            protected INDArray forward(INDArray... in) {
                return gradBuffer(0);
            }

            @Override
            protected INDArray[] backward(INDArray g) {
                return new INDArray[] {g};
            }
        };
        assertThrows(IllegalStateException.class, () -> f.apply(param(DataType.FLOAT, 70, 2)));
    }
}
