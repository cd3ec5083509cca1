package org.lowbit4j.mixedprec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link HalfLinearCrossEntropy} at a size where its row loops run on all cores and its logits and dL/dlogits are
 * rounded (or copied to bf16) block of rows by block of rows inside them: the same bits as on one thread, and as the
 * rounded linear followed by the fp32 cross-entropy.
 */
class HalfLinearCrossEntropyRowsTest {
    private static final int IGNORE = -100;
    /** [2, 48] rows x 2500 words: 240 000 logits, above the parallel threshold, 13 rows per block. */
    private static final long B = 2, T = 48, C = 32, V = 2_500;

    private static INDArray randn(long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.FLOAT, shape);
    }

    private static INDArray targets() {
        Random r = new Random(21);
        long[] t = new long[(int) (B * T)];
        for (int i = 0; i < t.length; i++) {
            t[i] = r.nextInt(6) == 0 ? IGNORE : r.nextInt((int) V);
        }
        return Nd4j.createFromArray(t).reshape(B, T);
    }

    /** The raw bits of every element, in C order. */
    private static int[] bits(INDArray a) {
        float[] f = a.dup('c').data().asFloat();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Float.floatToRawIntBits(f[i]);
        }
        return out;
    }

    /** Loss, dx, dW of a classifier loss, backward from 0.5. */
    private static INDArray[] run(INDArray x, INDArray w, BiFunction<Tensor, Tensor, Tensor> loss) {
        Tensor xt = Tensor.parameter(x.dup());
        Tensor wt = Tensor.parameter(w.dup());
        Tensor l = loss.apply(xt, wt);
        l.backward(Nd4j.scalar(DataType.FLOAT, 0.5));
        return new INDArray[] {l.value(), xt.grad(), wt.grad()};
    }

    private static void assertSameBits(INDArray[] expected, INDArray[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(bits(expected[i]), bits(actual[i]), what + ", result " + i);
        }
    }

    @Test
    void bf16GemmRouteIsTheSameBitsOnAllCoresOnOneAndAsBf16LinearThenCrossEntropy() {
        INDArray x = randn(22, B, T, C);
        INDArray w = randn(23, V, C).muli(0.2);
        INDArray t = targets();
        INDArray[] parallel = run(x, w, (a, b) -> new HalfLinearCrossEntropy(HalfFormat.BF16, true, t, IGNORE)
                .apply(a, b));
        INDArray[] serial = run(x, w, (a, b) -> new HalfLinearCrossEntropy(HalfFormat.BF16, true, t, IGNORE, false)
                .apply(a, b));
        INDArray[] composed = run(x, w, (a, b) -> F.crossEntropy(new Bf16Linear().apply(a, b), t, IGNORE));
        assertSameBits(serial, parallel, "BF16 GEMM route, parallel against serial");
        assertSameBits(composed, parallel, "BF16 GEMM route against Bf16Linear + crossEntropy");
        // a second run reuses the pooled logits, operand and bf16 gradient buffers (stale contents)
        assertSameBits(composed, run(x, w, (a, b) -> new HalfLinearCrossEntropy(HalfFormat.BF16, true, t, IGNORE)
                .apply(a, b)), "BF16 GEMM route, pooled buffers reused");
    }

    @Test
    void roundedFp32RouteIsTheSameBitsOnAllCoresOnOneAndAsTheRoundedLinearThenCrossEntropy() {
        INDArray x = randn(24, B, T, C);
        INDArray w = randn(25, V, C).muli(0.2);
        INDArray t = targets();
        for (HalfFormat f : HalfFormat.values()) {
            INDArray[] parallel = run(x, w, (a, b) -> new HalfLinearCrossEntropy(f, false, t, IGNORE).apply(a, b));
            INDArray[] serial = run(x, w, (a, b) -> new HalfLinearCrossEntropy(f, false, t, IGNORE, false)
                    .apply(a, b));
            INDArray[] composed = run(x, w, (a, b) -> {
                try (var ac = Autocast.enable(new HalfPrecisionPolicy(f, false))) {
                    return F.crossEntropy(F.linear(a, b), t, IGNORE);
                }
            });
            assertSameBits(serial, parallel, f + " route, parallel against serial");
            assertSameBits(composed, parallel, f + " route against the rounded linear + crossEntropy");
            assertTrue(parallel[0].getDouble(0) > 0, "a real loss");
        }
    }
}
