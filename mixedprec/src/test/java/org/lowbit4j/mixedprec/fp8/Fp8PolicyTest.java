package org.lowbit4j.mixedprec.fp8;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lowbit4j.mixedprec.fp8.Fp8TestSupport.FP32;
import static org.lowbit4j.mixedprec.fp8.Fp8TestSupport.gaussian;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.mixedprec.fp8.Fp8TestSupport.Mlp;
import org.lowbit4j.mixedprec.fp8.Fp8WeightMetas.Role;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class Fp8PolicyTest {
    @TempDir
    Path dir;

    @Test
    void linearRunsInFp8AndTheOtherProductsGoToTheDelegate() {
        var calls = new AtomicInteger();
        Autocast.Policy counting = new Autocast.Policy() {
            @Override
            public Tensor linear(Tensor x, Tensor w) {
                throw new AssertionError("linear must not reach the delegate");
            }

            @Override
            public Tensor matmul(Tensor a, Tensor b) {
                calls.incrementAndGet();
                return FP32.matmul(a, b);
            }

            @Override
            public Tensor causalAttention(Tensor q, Tensor k, Tensor v) {
                calls.addAndGet(10);
                return FP32.causalAttention(q, k, v);
            }

            @Override
            public Tensor castActivation(Tensor x) {
                calls.addAndGet(100);
                return x;
            }
        };
        var policy = new Fp8Policy(Fp8Recipe.defaults(), counting);
        Tensor x = Tensor.constant(gaussian(1, 1, 3, 5));
        Tensor w = Tensor.constant(gaussian(2, 0.1, 4, 5)).named("w");
        Tensor q = Tensor.constant(gaussian(3, 1, 1, 2, 1, 4));
        Tensor y;
        try (var _ = Autocast.enable(policy)) {
            y = F.linear(x, w);
            F.matmul(x, Tensor.constant(gaussian(4, 1, 5, 2)));
            F.causalAttention(q, q, q);
            Autocast.castActivation(x);
        }
        assertEquals(111, calls.get());
        Fp8Recipe r = Fp8Recipe.defaults();
        INDArray expected = new Fp8Linear(new Fp8TensorMeta(r), new Fp8TensorMeta(r), new Fp8TensorMeta(r),
                Fp8Format.HYBRID).apply(x, w).value();
        assertEquals(expected, y.value());
        assertNotEquals(F.linear(x, w).value(), y.value(), "outside the scope: plain fp32");
        assertEquals(1, policy.metas("w").input().calls());
    }

    @Test
    void fusedClassifierLossEqualsFp8LinearThenCrossEntropyBitForBitOverSteps() {
        INDArray x = gaussian(5, 1, 2, 6, 16);
        INDArray w = gaussian(6, 0.2, 40, 16);
        INDArray targets = Nd4j.createFromArray(new int[][] {{1, 7, -100, 39, 0, 3}, {5, 5, 5, -100, 20, 31}});
        var fused = new Fp8Policy(Fp8Recipe.defaults().withAmaxHistoryLen(4), FP32);
        var reference = new Fp8Policy(Fp8Recipe.defaults().withAmaxHistoryLen(4), FP32);
        for (int step = 0; step < 3; step++) { // the scaling states evolve alike
            INDArray xs = x.mul(1 + step);
            Tensor x1 = Tensor.parameter(xs.dup());
            Tensor w1 = Tensor.parameter(w.dup()).named("cls");
            Tensor l1;
            try (var _ = Autocast.enable(fused)) {
                l1 = F.linearCrossEntropy(x1, w1, targets, -100);
            }
            l1.backward();
            Tensor x2 = Tensor.parameter(xs.dup());
            Tensor w2 = Tensor.parameter(w.dup()).named("cls");
            Tensor l2;
            try (var _ = Autocast.enable(reference)) {
                l2 = F.crossEntropy(F.linear(x2, w2), targets, -100);
            }
            l2.backward();
            assertEquals(l2.value().getDouble(0), l1.value().getDouble(0), 0.0, "step " + step);
            assertEquals(x2.grad(), x1.grad(), "dx, step " + step);
            assertEquals(w2.grad(), w1.grad(), "dW, step " + step);
            assertEquals(reference.metas("cls").gradOutput().scale(), fused.metas("cls").gradOutput().scale(), 0f);
        }
    }

    @Test
    void weightsGetStateInFirstUseOrderAndNeedNames() {
        var policy = new Fp8Policy(Fp8Recipe.defaults(), FP32);
        Tensor x = Tensor.constant(gaussian(1, 1, 2, 3));
        List<Tensor> ws = new ArrayList<>();
        for (String name : new String[] {"zeta", "alpha", "mid"}) {
            ws.add(Tensor.constant(gaussian(name.hashCode(), 1, 4, 3)).named(name));
        }
        try (var _ = Autocast.enable(policy)) {
            for (int i : new int[] {0, 1, 0, 2, 1}) {
                F.linear(x, ws.get(i));
            }
            assertEquals(List.of("zeta", "alpha", "mid"), policy.weightNames());
            assertEquals(2, policy.metas("zeta").meta(Role.WEIGHT).calls());
            var unnamed = Tensor.constant(gaussian(9, 1, 4, 3));
            var e = assertThrows(IllegalArgumentException.class, () -> F.linear(x, unnamed));
            assertTrue(e.getMessage().contains("forModel"), e.getMessage());
            var reshaped = Tensor.constant(gaussian(9, 1, 5, 3)).named("mid");
            assertThrows(IllegalArgumentException.class, () -> F.linear(x, reshaped));
        }
        String summary = policy.summary();
        assertTrue(summary.contains("zeta") && summary.contains("GRAD_OUTPUT") && summary.contains("scale="), summary);
    }

    @Test
    void forModelTakesNamesFromNamedParameters() {
        var model = new Mlp(3, 6, 2, 1);
        var policy = Fp8Policy.forModel(model, Fp8Recipe.defaults(), FP32);
        model.child("fc2").parameter("weight").named(null); // the model's map still knows it
        try (var _ = Autocast.enable(policy)) {
            model.forward(Tensor.constant(gaussian(1, 1, 4, 3)));
        }
        assertEquals(List.of("fc1.weight", "fc2.weight"), policy.weightNames());
    }

    /** Runs one training step of the model under the policy; returns output and the two weight gradients. */
    private static INDArray[] step(Mlp model, Fp8Policy policy, long seed, double inputStd) {
        model.zeroGrad();
        INDArray x = gaussian(seed, inputStd, 8, 3);
        Tensor y;
        try (var _ = Autocast.enable(policy)) {
            y = model.forward(Tensor.constant(x));
            Fp8TestSupport.mse(y, gaussian(seed + 100, 1, 8, 2)).backward();
        }
        return new INDArray[] {y.value(), model.child("fc1").parameter("weight").grad().dup(),
            model.child("fc2").parameter("weight").grad().dup()};
    }

    @Test
    void saveThenLoadGivesIdenticalSubsequentSteps() throws IOException {
        var model = new Mlp(3, 6, 2, 1);
        Fp8Recipe recipe = Fp8Recipe.defaults().withAmaxHistoryLen(4);
        var original = Fp8Policy.forModel(model, recipe, FP32);
        for (int s = 0; s < 6; s++) {
            step(model, original, s, 0.5 + s); // growing inputs: the delayed scale lags
        }
        Path file = dir.resolve("sub/fp8.state");
        original.save(file);
        original.save(file); // overwrite in place
        try (var listing = Files.list(file.getParent())) {
            assertEquals(List.of(file), listing.toList(), "no temporary file left behind");
        }

        var restored = Fp8Policy.forModel(model, recipe, FP32);
        restored.load(file);
        assertEquals(original.weightNames(), restored.weightNames());
        assertEquals(original.summary(), restored.summary());
        var fresh = Fp8Policy.forModel(model, recipe, FP32);

        INDArray[] a = step(model, restored, 50, 9.0);
        INDArray[] b = step(model, original, 50, 9.0);
        INDArray[] c = step(model, fresh, 50, 9.0);
        for (int i = 0; i < 3; i++) {
            assertEquals(b[i], a[i], "output / gradient " + i + " after load");
        }
        assertNotEquals(b[0], c[0], "control: a policy without the history scales differently");
        for (String name : original.weightNames()) {
            for (Role r : Role.values()) {
                assertTrue(original.metas(name).meta(r).sameState(restored.metas(name).meta(r)), name + " " + r);
            }
        }
    }

    @Test
    void loadRejectsMismatchesNamingTheFileAndLeavesStateAlone() throws IOException {
        var model = new Mlp(3, 6, 2, 1);
        var policy = Fp8Policy.forModel(model, Fp8Recipe.defaults().withAmaxHistoryLen(8), FP32);
        step(model, policy, 1, 1.0);
        Path file = dir.resolve("fp8.state");
        policy.save(file);

        var otherRecipe = Fp8Policy.forModel(model, Fp8Recipe.defaults().withAmaxHistoryLen(16), FP32);
        var e = assertThrows(Fp8StateException.class, () -> otherRecipe.load(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("amaxHistoryLen 8 in the file"),
                e.getMessage());

        var otherModel = Fp8Policy.forModel(new Mlp(3, 7, 2, 1), Fp8Recipe.defaults().withAmaxHistoryLen(8), FP32);
        e = assertThrows(Fp8StateException.class, () -> otherModel.load(file));
        assertTrue(e.getMessage().contains("fc1.weight") && e.getMessage().contains("[6, 3]"), e.getMessage());

        Path cut = dir.resolve("cut.state");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length - 9));
        var target = Fp8Policy.forModel(model, Fp8Recipe.defaults().withAmaxHistoryLen(8), FP32);
        step(model, target, 2, 1.0);
        String before = target.summary();
        e = assertThrows(Fp8StateException.class, () -> target.load(cut));
        assertTrue(e.getMessage().contains("cut.state") && e.getMessage().contains("truncated"), e.getMessage());
        assertEquals(before, target.summary(), "a failed load changes nothing");

        Path junk = dir.resolve("junk.state");
        Files.writeString(junk, "not a state file at all");
        assertThrows(Fp8StateException.class, () -> target.load(junk));
    }

    @Test
    void delegateIsUsedAsGiven() {
        var policy = new Fp8Policy(Fp8Recipe.defaults(), FP32);
        assertSame(FP32, policy.delegate());
        assertThrows(NullPointerException.class, () -> new Fp8Policy(Fp8Recipe.defaults(), null));
    }
}
