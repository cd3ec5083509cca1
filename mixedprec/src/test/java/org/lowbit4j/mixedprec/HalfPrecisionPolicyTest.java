package org.lowbit4j.mixedprec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.Fp16;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class HalfPrecisionPolicyTest {
    private static boolean representable(INDArray a, HalfFormat f) {
        for (float v : a.dup().data().asFloat()) {
            float r = f == HalfFormat.BF16 ? Bf16.decode(Bf16.encode(v)) : Fp16.decode(Fp16.encode(v));
            if (Float.compare(r, v) != 0) {
                return false;
            }
        }
        return true;
    }

    private static INDArray randn(long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.FLOAT, shape);
    }

    /** Output, input gradient and weight gradient of one {@link Bf16Linear} op (whatever GEMM route is in use). */
    private static INDArray[] bf16LinearRun(INDArray x, INDArray w, INDArray g) {
        Tensor xt = Tensor.parameter(x.dup());
        Tensor wt = Tensor.parameter(w.dup());
        Tensor y = new Bf16Linear().apply(xt, wt);
        y.backward(g);
        return new INDArray[] {y.value(), xt.grad(), wt.grad()};
    }

    /** Output, input gradient and weight gradient of a linear inside autocast. */
    private static INDArray[] linearRun(Autocast.Policy policy, INDArray x, INDArray w, INDArray g) {
        Tensor xt = Tensor.parameter(x.dup());
        Tensor wt = Tensor.parameter(w.dup());
        Tensor y;
        try (var ac = Autocast.enable(policy)) {
            y = F.linear(xt, wt);
        }
        y.backward(g);
        return new INDArray[] {y.value(), xt.grad(), wt.grad()};
    }

    @Test
    void linearOutputsAndGradientsAreInTheWorkingFormatAndMatchRoundedReference() {
        INDArray x = randn(1, 2, 5, 24);
        INDArray w = randn(2, 12, 24).muli(0.1);
        INDArray g = randn(3, 2, 5, 12);
        for (HalfFormat f : HalfFormat.values()) {
            INDArray[] got = linearRun(new HalfPrecisionPolicy(f, false), x, w, g);
            for (INDArray a : got) {
                assertTrue(representable(a, f), f + ": a result is not in the working format");
            }
            // reference: products of rounded operands accumulated in double, then rounded
            INDArray xr = f.round(x).castTo(DataType.DOUBLE).reshape(10, 24);
            INDArray wr = f.round(w).castTo(DataType.DOUBLE);
            INDArray y = xr.mmul(wr.transpose());
            INDArray yRef = f.round(y.castTo(DataType.FLOAT)).reshape(2, 5, 12);
            double maxDiff = got[0].sub(yRef).amaxNumber().doubleValue();
            double ulp = f == HalfFormat.BF16 ? 0x1p-7 : 0x1p-10;
            assertTrue(maxDiff <= ulp * yRef.amaxNumber().doubleValue(), f + ": max diff " + maxDiff);
            // the gradient entering the linear is rounded too
            INDArray gr = f.round(g).castTo(DataType.DOUBLE).reshape(10, 12);
            INDArray dwRef = f.round(gr.transpose().mmul(xr).castTo(DataType.FLOAT));
            assertTrue(got[2].sub(dwRef).amaxNumber().doubleValue() <= ulp * dwRef.amaxNumber().doubleValue());
        }
    }

    @Test
    void fusedBf16LinearEqualsTheCompositionExactlyWhenSumsAreExact() {
        // small integers: every product and partial sum is exact in fp32, so summation order cannot matter
        INDArray x = Nd4j.createFromArray(new float[][] {{1, -2, 3, 0, 5}, {4, 4, -1, 2, 2}, {0, 1, 1, 1, -7}})
                .reshape(3, 5);
        INDArray w = Nd4j.createFromArray(new float[][] {{2, 0, -1, 1, 3}, {1, 1, 1, 1, 1}}).reshape(2, 5);
        INDArray g = Nd4j.createFromArray(new float[][] {{1, -1}, {2, 0.5f}, {-3, 4}}).reshape(3, 2);
        INDArray[] fused = bf16LinearRun(x, w, g);
        INDArray[] ref = linearRun(new HalfPrecisionPolicy(HalfFormat.BF16, false), x, w, g);
        for (int i = 0; i < 3; i++) {
            assertEquals(ref[i], fused[i], "result " + i);
        }
    }

    @Test
    void fusedBf16LinearMatchesTheCompositionWithinOneUlpOnRandomData() {
        INDArray x = randn(4, 64, 96);
        INDArray w = randn(5, 80, 96).muli(0.05);
        INDArray g = randn(6, 64, 80);
        INDArray[] fused = bf16LinearRun(x, w, g);
        INDArray[] ref = linearRun(new HalfPrecisionPolicy(HalfFormat.BF16, false), x, w, g);
        for (int i = 0; i < 3; i++) {
            assertTrue(representable(fused[i], HalfFormat.BF16));
            INDArray diff = fused[i].sub(ref[i]);
            assertTrue(diff.amaxNumber().doubleValue() <= 0x1p-7 * ref[i].amaxNumber().doubleValue(),
                    "result " + i + " differs by more than one bf16 ulp");
        }
    }

    @Test
    void fp16OverflowsToInfinityAndBf16DoesNot() {
        INDArray x = Nd4j.valueArrayOf(new long[] {1, 4}, 300f);
        INDArray w = Nd4j.valueArrayOf(new long[] {1, 4}, 100f);
        INDArray g = Nd4j.ones(DataType.FLOAT, 1, 1);
        INDArray[] fp16 = linearRun(HalfPrecisionPolicy.of(HalfFormat.FP16), x, w, g); // 120000 > 65504
        assertEquals(Float.POSITIVE_INFINITY, fp16[0].getFloat(0), 0);
        INDArray[] bf16 = linearRun(HalfPrecisionPolicy.of(HalfFormat.BF16), x, w, g);
        assertEquals(120000f, bf16[0].getFloat(0), 120000f * 0x1p-8);
    }

    @Test
    void normsSoftmaxAndLossStayFp32InsideAutocast() {
        INDArray x = randn(7, 3, 10);
        INDArray weight = randn(8, 10);
        Tensor plainNorm = F.rmsNorm(Tensor.constant(x), Tensor.constant(weight), 1e-5);
        Tensor plainSoft = F.softmax(Tensor.constant(x), -1);
        try (var ac = Autocast.enable(HalfPrecisionPolicy.of(HalfFormat.BF16))) {
            assertEquals(plainNorm.value(), F.rmsNorm(Tensor.constant(x), Tensor.constant(weight), 1e-5).value());
            assertEquals(plainSoft.value(), F.softmax(Tensor.constant(x), -1).value());
            // but the products do round
            assertNotEquals(F.matmul(Tensor.constant(x), Tensor.constant(x.transpose().dup())).value(),
                    plainMatmul(x));
        }
        assertTrue(Autocast.current() == null, "the scope restores plain fp32");
    }

    private static INDArray plainMatmul(INDArray x) {
        try (var ac = Autocast.enable(new Fp32Policy())) {
            return F.matmul(Tensor.constant(x), Tensor.constant(x.transpose().dup())).value();
        }
    }

    @Test
    void masterWeightsStayFp32AfterAnUpdate() {
        INDArray x = randn(9, 4, 8);
        Tensor w = Tensor.parameter(randn(10, 3, 8));
        Tensor y;
        try (var ac = Autocast.enable(HalfPrecisionPolicy.of(HalfFormat.BF16))) {
            y = F.linear(Tensor.constant(x), w);
        }
        F.sum(y, false).backward();
        assertTrue(representable(w.grad(), HalfFormat.BF16), "the weight gradient arrives in BF16");
        w.value().subi(w.grad().mul(1e-3));
        assertTrue(!representable(w.value(), HalfFormat.BF16), "the master weight keeps fp32 precision");
    }

    @Test
    void bf16LinearsRunOnTheBf16GemmExactlyWhenOneDnnProvidesIt() {
        Tensor y;
        try (var ac = Autocast.enable(HalfPrecisionPolicy.of(HalfFormat.BF16))) {
            y = F.linear(Tensor.parameter(randn(11, 4, 8)), Tensor.parameter(randn(12, 3, 8)));
        }
        assertEquals(org.lowbit4j.autograd.blas.Gemm.bf16Accelerated(), y.creator() instanceof Bf16Linear,
                "route: " + org.lowbit4j.autograd.blas.Gemm.bf16Backend());
    }

    /** Loss, dx, dW of a classifier loss computed by {@code loss}. */
    private static INDArray[] classifierRun(INDArray x, INDArray w,
            java.util.function.BiFunction<Tensor, Tensor, Tensor> loss) {
        Tensor xt = Tensor.parameter(x.dup());
        Tensor wt = Tensor.parameter(w.dup());
        Tensor l = loss.apply(xt, wt);
        l.backward();
        return new INDArray[] {l.value(), xt.grad(), wt.grad()};
    }

    @Test
    void fusedHalfClassifierLossEqualsTheRoundedLinearThenCrossEntropyBitForBit() {
        INDArray x = randn(13, 2, 6, 32);
        INDArray w = randn(14, 50, 32).muli(0.2);
        INDArray targets = Nd4j.createFromArray(new int[][] {{1, 7, -100, 49, 0, 3}, {5, 5, 5, -100, 20, 31}});
        // BF16 GEMM route against Bf16Linear + cross-entropy
        INDArray[] fused = classifierRun(x, w, (a, b) -> new HalfLinearCrossEntropy(HalfFormat.BF16, true, targets, -100)
                .apply(a, b));
        INDArray[] ref = classifierRun(x, w, (a, b) -> F.crossEntropy(new Bf16Linear().apply(a, b), targets, -100));
        for (int i = 0; i < 3; i++) {
            assertEquals(ref[i], fused[i], "BF16 GEMM route, result " + i);
        }
        assertTrue(representable(fused[2], HalfFormat.BF16));
        // rounded fp32 route against the rounding composition, for both formats
        for (HalfFormat f : HalfFormat.values()) {
            fused = classifierRun(x, w, (a, b) -> new HalfLinearCrossEntropy(f, false, targets, -100).apply(a, b));
            ref = classifierRun(x, w, (a, b) -> {
                try (var ac = Autocast.enable(new HalfPrecisionPolicy(f, false))) {
                    return F.crossEntropy(F.linear(a, b), targets, -100);
                }
            });
            for (int i = 0; i < 3; i++) {
                assertEquals(ref[i], fused[i], f + " route, result " + i);
            }
            assertTrue(representable(fused[1], f) && representable(fused[2], f));
        }
    }

    @Test
    void fp32PolicyKeepsTheFusedClassifierLoss() {
        INDArray x = randn(15, 4, 16);
        INDArray w = randn(16, 30, 16);
        INDArray targets = Nd4j.createFromArray(1, 2, 3, 29);
        Tensor plain = F.linearCrossEntropy(Tensor.constant(x), Tensor.parameter(w.dup()), targets, -100);
        Tensor viaPolicy;
        try (var ac = Autocast.enable(new Fp32Policy())) {
            viaPolicy = F.linearCrossEntropy(Tensor.constant(x), Tensor.parameter(w.dup()), targets, -100);
        }
        assertEquals(plain.creator().getClass(), viaPolicy.creator().getClass());
        assertEquals(plain.value(), viaPolicy.value());
    }
}
