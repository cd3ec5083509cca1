package org.lowbit4j.mixedprec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamWConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class LossScalerTest {
    @TempDir
    Path dir;

    @Test
    void defaultsArePyTorchsGradScaler() {
        LossScalerConfig c = LossScalerConfig.dynamicDefaults();
        assertEquals(new LossScalerConfig(true, 65536.0, 2.0, 0.5, 2000), c);
        assertThrows(IllegalArgumentException.class, () -> new LossScalerConfig(true, 0, 2, 0.5, 10));
        assertThrows(IllegalArgumentException.class, () -> new LossScalerConfig(true, 1, 1, 0.5, 10));
        assertThrows(IllegalArgumentException.class, () -> new LossScalerConfig(true, 1, 2, 1, 10));
        assertThrows(IllegalArgumentException.class, () -> new LossScalerConfig(true, 1, 2, 0.5, 0));
    }

    @Test
    void growsAfterIntervalCleanStepsAndBacksOffOnOverflow() {
        LossScaler s = new LossScaler(LossScalerConfig.dynamicDefaults());
        for (int i = 0; i < 1999; i++) {
            s.update(true);
        }
        assertEquals(65536.0, s.scale());
        s.update(true);
        assertEquals(131072.0, s.scale(), "doubles after exactly 2000 clean steps");
        for (int i = 0; i < 1000; i++) {
            s.update(true);
        }
        s.update(false);
        assertEquals(65536.0, s.scale(), "halves on overflow");
        assertEquals(1, s.skippedSteps());
        for (int i = 0; i < 1999; i++) {
            s.update(true);
        }
        assertEquals(65536.0, s.scale(), "the clean-step count restarts after an overflow");
        s.update(true);
        assertEquals(131072.0, s.scale());
        assertEquals(5001, s.steps());
    }

    @Test
    void staticScaleNeverChangesButStillSkips() {
        LossScaler s = new LossScaler(LossScalerConfig.fixed(128));
        int skipped = 0;
        for (int i = 0; i < 2100; i++) {
            boolean finite = i % 700 != 3;
            skipped += finite ? 0 : 1;
            s.update(finite);
        }
        assertEquals(128.0, s.scale());
        assertEquals(3, skipped);
        assertEquals(skipped, s.skippedSteps());
    }

    @Test
    void unscaleKernelMatchesScalarTwinAndFindsEveryNonFinitePosition() {
        Random r = new Random(3);
        try (Arena arena = Arena.ofConfined()) {
            for (int n : new int[] {1, 7, 16, 33, 100, 1000}) {
                for (int bad = -1; bad < n; bad += Math.max(1, n / 5)) {
                    for (float special : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                        MemorySegment a = arena.allocate(4L * n, 64);
                        MemorySegment b = arena.allocate(4L * n, 64);
                        for (int i = 0; i < n; i++) {
                            float x = (float) r.nextGaussian() * 1e4f;
                            a.setAtIndex(ValueLayout.JAVA_FLOAT, i, x);
                        }
                        if (bad >= 0) {
                            a.setAtIndex(ValueLayout.JAVA_FLOAT, bad, special);
                        }
                        b.copyFrom(a);
                        boolean fv = LossScaler.unscaleVector(a, n, 0x1p-16f);
                        boolean fs = LossScaler.unscaleScalar(b, n, 0x1p-16f);
                        assertEquals(bad < 0, fv, "n=" + n + " bad=" + bad);
                        assertEquals(fs, fv);
                        assertArrayEquals(b.toArray(ValueLayout.JAVA_FLOAT), a.toArray(ValueLayout.JAVA_FLOAT));
                    }
                }
            }
            // a finite value that overflows when multiplied counts as non-finite
            MemorySegment big = arena.allocate(4L * 20, 64);
            big.setAtIndex(ValueLayout.JAVA_FLOAT, 17, Float.MAX_VALUE);
            assertFalse(LossScaler.unscaleVector(big, 20, 4f));
        }
    }

    @Test
    void unscaleDividesGradientsAndMayNotRunTwice() {
        Tensor p = Tensor.parameter(Nd4j.createFromArray(1f, 2f, 3f));
        LossScaler s = new LossScaler(LossScalerConfig.fixed(1024));
        s.scale(F.sum(F.mul(p, p), false)).backward();
        assertTrue(s.unscale(List.of(p)));
        assertArrayEquals(new float[] {2, 4, 6}, p.grad().toFloatVector());
        assertThrows(IllegalStateException.class, () -> s.unscale(List.of(p)));
    }

    /**
     * FP16 training of a linear layer whose scaled gradients overflow at the start: the scaler must report exactly the
     * steps whose gradients (inspected independently, before unscaling) hold an inf/NaN, and on those steps the
     * optimizer's parameters and step count must not move.
     */
    @Test
    void skipsExactlyTheOverflowingStepsAndLeavesTheOptimizerUntouched() throws Exception {
        Random r = new Random(11);
        INDArray x = Nd4j.rand(DataType.FLOAT, 32, 16).subi(0.5).muli(4);
        INDArray target = Nd4j.rand(DataType.FLOAT, 32, 8);
        Tensor w = Tensor.parameter(Nd4j.randn(DataType.FLOAT, 8, 16).muli(0.1)).named("w");
        List<Tensor> params = List.of(w);
        AdamW opt = new AdamW(params, AdamWConfig.DEFAULTS.withLr(1e-2));
        // 2^40: FP16 gradients (max 65504) overflow until the scale has backed off far enough
        LossScaler scaler = new LossScaler(new LossScalerConfig(true, 0x1p40, 2.0, 0.5, 4));
        HalfPrecisionPolicy fp16 = HalfPrecisionPolicy.of(HalfFormat.FP16);
        List<Integer> expectedSkips = new ArrayList<>();
        List<Integer> skips = new ArrayList<>();
        for (int step = 0; step < 40; step++) {
            Tensor loss;
            try (var ac = Autocast.enable(fp16)) {
                Tensor y = F.linear(Tensor.constant(x), w);
                Tensor d = F.sub(y, Tensor.constant(target));
                loss = F.mean(F.mul(d, d), false);
            }
            scaler.scale(loss).backward();
            boolean overflowed = !Double.isFinite(w.grad().sumNumber().doubleValue())
                    || !Double.isFinite(w.grad().amaxNumber().doubleValue());
            if (overflowed) {
                expectedSkips.add(step);
            }
            INDArray before = w.value().dup();
            long stepsBefore = opt.steps();
            Path stateBefore = dir.resolve("before-" + step + ".state");
            opt.save(stateBefore);
            boolean finite = scaler.unscale(params);
            if (finite) {
                opt.step();
            } else {
                skips.add(step);
            }
            scaler.update(finite);
            opt.zeroGrad();
            if (!finite) {
                assertEquals(before, w.value(), "weights moved on skipped step " + step);
                assertEquals(stepsBefore, opt.steps(), "optimizer stepped on skipped step " + step);
                Path stateAfter = dir.resolve("after-" + step + ".state");
                opt.save(stateAfter);
                assertArrayEquals(Files.readAllBytes(stateBefore), Files.readAllBytes(stateAfter),
                        "optimizer state (moments, step count) changed on skipped step " + step);
            }
        }
        assertFalse(expectedSkips.isEmpty(), "the test must provoke overflows");
        assertEquals(expectedSkips, skips);
        assertEquals(skips.size(), scaler.skippedSteps());
        assertEquals(40 - skips.size(), opt.steps());
        assertTrue(scaler.scale() < 0x1p40);
    }

    @Test
    void saveLoadRoundTripsAndRejectsForeignFiles() throws Exception {
        LossScaler a = new LossScaler(new LossScalerConfig(true, 1024, 2, 0.5, 3));
        for (int i = 0; i < 10; i++) {
            a.update(i != 4);
        }
        Path f = dir.resolve("scaler.json");
        a.save(f);
        LossScaler b = new LossScaler(new LossScalerConfig(true, 1024, 2, 0.5, 3));
        b.load(f);
        assertEquals(a.scale(), b.scale());
        assertEquals(a.steps(), b.steps());
        assertEquals(a.skippedSteps(), b.skippedSteps());
        for (int i = 0; i < 7; i++) {
            a.update(true);
            b.update(true);
            assertEquals(a.scale(), b.scale(), "resumed scaler diverged at " + i);
        }
        var staticOne = new LossScaler(LossScalerConfig.fixed(8));
        var e = assertThrows(IllegalArgumentException.class, () -> staticOne.load(f));
        assertTrue(e.getMessage().contains("dynamic") && e.getMessage().contains(f.toString()), e.getMessage());
        Path junk = dir.resolve("junk.json");
        Files.writeString(junk, "{\"format\":\"something-else\"}");
        e = assertThrows(IllegalArgumentException.class, () -> b.load(junk));
        assertTrue(e.getMessage().contains("format"), e.getMessage());
        Files.writeString(junk, "{\"format\":\"lowbit4j-loss-scaler\",\"version\":1,\"dynamic\":true,\"scale\":-2,"
                + "\"clean_steps\":0,\"steps\":0,\"skipped_steps\":0}");
        double before = b.scale();
        e = assertThrows(IllegalArgumentException.class, () -> b.load(junk));
        assertTrue(e.getMessage().contains("'scale'"), e.getMessage());
        assertEquals(before, b.scale(), "a rejected file changes nothing");
    }
}
