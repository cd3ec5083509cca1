package org.lowbit4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.GradMode;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.nn.Layer;
import org.lowbit4j.nn.Linear;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The training forward pass against the exact inference path, gradients, and a few SGD steps. */
@SuppressWarnings("try") // GradMode scopes are opened for their effect only
class LlamaTrainingTest {
    private static final int IGNORE = -100;
    private static Tokenizer tokenizer;
    private static int[] storyTokens;

    @BeforeAll
    static void load() throws Exception {
        tokenizer = Tokenizer.load(TestData.tokenizer(), 512);
        String text = Files.readString(TestData.file("text/tinystories_sample.txt"), StandardCharsets.UTF_8);
        storyTokens = tokenizer.encode(text, true, false);
        assertTrue(storyTokens.length > 600, "sample text has " + storyTokens.length + " tokens");
    }

    /** B windows of T+1 tokens at fixed, spread-out offsets: inputs [B, T] and next-token targets [B, T]. */
    private static INDArray[] batch(int b, int t) {
        int[][] in = new int[b][t];
        int[][] tg = new int[b][t];
        int stride = (storyTokens.length - t - 1) / b;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                in[i][j] = storyTokens[i * stride + j];
                tg[i][j] = storyTokens[i * stride + j + 1];
            }
        }
        return new INDArray[] {Nd4j.createFromArray(in), Nd4j.createFromArray(tg)};
    }

    @Test
    void trainingLogitsEqualInferenceLogitsAtEveryPosition() throws Exception {
        Llama model = Llama2cFormat.read(TestData.model(), DataType.FLOAT);
        int t = 24;
        INDArray tokens = batch(2, t)[0];
        INDArray logits;
        try (var s = GradMode.noGrad()) {
            logits = model.forward(tokens).value(); // [B, T, V]
        }
        assertArrayEquals(new long[] {2, t, 512}, logits.shape());
        double worst = 0;
        for (int b = 0; b < 2; b++) {
            var session = new InferenceSession(model);
            for (int pos = 0; pos < t; pos++) {
                float[] ref = session.forward(tokens.getInt(b, pos), pos);
                for (int v = 0; v < ref.length; v++) {
                    worst = Math.max(worst, Math.abs(ref[v] - logits.getDouble(b, pos, v)));
                }
            }
        }
        assertTrue(worst <= 1e-4, "max |training - inference| logit difference " + worst);
    }

    @Test
    void gradientDescentLowersTheLossAndStepZeroMatchesFloat64() throws Exception {
        Llama model = Llama2cFormat.read(TestData.model(), DataType.FLOAT);
        Llama reference = Llama2cFormat.read(TestData.model(), DataType.DOUBLE);
        INDArray[] xy = batch(4, 64);
        double loss64;
        try (var s = GradMode.noGrad()) {
            loss64 = reference.loss(xy[0], xy[1], IGNORE).value().getDouble(0);
        }
        double lr = 0.05;
        List<Double> losses = new ArrayList<>();
        for (int step = 0; step < 5; step++) {
            model.zeroGrad();
            Tensor loss = model.loss(xy[0], xy[1], IGNORE);
            losses.add(loss.value().getDouble(0));
            loss.backward();
            for (Tensor p : model.trainableParameters()) {
                assertNotNull(p.grad(), "no gradient for " + p.name());
                p.value().subi(p.grad().mul(lr));
            }
        }
        double loss0 = losses.get(0);
        // float32 forward vs a float64 forward of the same weights: rounding only.
        assertEquals(loss64, loss0, 1e-5 * loss64, "step-0 loss float32 " + loss0 + " vs float64 " + loss64);
        double last;
        try (var s = GradMode.noGrad()) {
            last = model.loss(xy[0], xy[1], IGNORE).value().getDouble(0);
        }
        for (int i = 1; i < losses.size(); i++) {
            assertTrue(losses.get(i) < losses.get(i - 1), "loss did not decrease at step " + i + ": " + losses);
        }
        assertTrue(last < loss0 - 0.05, "5 steps should lower the loss clearly: " + losses + " then " + last);
    }

    @Test
    void wholeModelGradientMatchesDirectionalFiniteDifferencesInFloat64() {
        // Small random model with an unshared classifier and grouped-query attention.
        var cfg = new LlamaConfig(16, 24, 2, 4, 2, 40, 16, false);
        Llama m = Llama.random(cfg, DataType.DOUBLE, 11);
        var rng = new SplittableRandom(5);
        int[][] in = new int[2][7];
        int[][] tg = new int[2][7];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 7; j++) {
                in[i][j] = rng.nextInt(40);
                tg[i][j] = j == 3 ? IGNORE : rng.nextInt(40);
            }
        }
        INDArray x = Nd4j.createFromArray(in);
        INDArray y = Nd4j.createFromArray(tg);
        // scale up the weights so that the gradients are not tiny
        for (Tensor p : m.parameters()) {
            if (!p.name().endsWith("norm.weight")) {
                p.value().muli(20);
            }
        }
        m.zeroGrad();
        m.loss(x, y, IGNORE).backward();
        List<Tensor> params = m.trainableParameters();
        for (int trial = 0; trial < 3; trial++) {
            List<INDArray> dirs = new ArrayList<>();
            double analytic = 0;
            for (Tensor p : params) {
                INDArray d = org.lowbit4j.nn.Init.normal(rng, 1.0, DataType.DOUBLE, p.shape());
                dirs.add(d);
                analytic += p.grad().mul(d).sumNumber().doubleValue();
            }
            double eps = 1e-5;
            double plus = shiftedLoss(m, params, dirs, eps, x, y);
            double minus = shiftedLoss(m, params, dirs, -eps, x, y);
            shiftedLoss(m, params, dirs, 0, x, y);
            double numeric = (plus - minus) / (2 * eps);
            double err = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic) + Math.abs(numeric), 1.0);
            assertTrue(err < 1e-6, "trial " + trial + ": analytic " + analytic + " numeric " + numeric);
        }
    }

    private static double shiftedLoss(Llama m, List<Tensor> params, List<INDArray> dirs, double eps, INDArray x,
            INDArray y) {
        // perturb to base + eps * d (the base is recovered by undoing the previous shift)
        for (int i = 0; i < params.size(); i++) {
            params.get(i).value().addi(dirs.get(i).mul(eps - lastShift));
        }
        lastShift = eps;
        try (var s = GradMode.noGrad()) {
            return m.loss(x, y, IGNORE).value().getDouble(0);
        }
    }

    private static double lastShift;

    @Test
    void parameterNamesFollowLlama2c() {
        Llama m = new Llama(LlamaConfig.stories260K(), DataType.FLOAT);
        var names = new ArrayList<>(m.namedParameters().keySet());
        assertEquals("tok_embeddings.weight", names.get(0));
        assertEquals(List.of("layers.0.attention.wq.weight", "layers.0.attention.wk.weight",
                "layers.0.attention.wv.weight", "layers.0.attention.wo.weight", "layers.0.attention_norm.weight",
                "layers.0.feed_forward.w1.weight", "layers.0.feed_forward.w2.weight", "layers.0.feed_forward.w3.weight",
                "layers.0.ffn_norm.weight"), names.subList(1, 10));
        assertEquals("norm.weight", names.get(names.size() - 1), "shared classifier: no output.weight");
        assertEquals(1 + 5 * 9 + 1, names.size());
        for (var e : m.namedParameters().entrySet()) {
            assertEquals(e.getKey(), e.getValue().name());
        }
        Llama u = new Llama(new LlamaConfig(16, 24, 2, 4, 2, 40, 16, false), DataType.FLOAT);
        assertEquals("output.weight", new ArrayList<>(u.namedParameters().keySet()).getLast());
    }

    @Test
    void replacingALinearByNameTakesEffectInTheForwardPass() throws Exception {
        Llama m = Llama2cFormat.read(TestData.model(), DataType.FLOAT);
        INDArray tokens = batch(1, 8)[0];
        INDArray before;
        try (var s = GradMode.noGrad()) {
            before = m.forward(tokens).value();
        }
        var attention = m.layers().get(2).child("attention");
        var old = (Linear) attention.child("wq");
        // A wrapper that doubles the output: a stand-in for a LoRA adapter.
        final class Doubled extends Layer {
            Doubled(Linear base) {
                addChild("base", base);
            }

            @Override
            public Tensor forward(Tensor x) {
                return F.scale(((Layer) child("base")).forward(x), 2.0);
            }
        }
        attention.replaceChild("wq", new Doubled(old));
        assertSame(old.weight(), m.namedParameters().get("layers.2.attention.wq.base.weight"));
        assertEquals("layers.2.attention.wq.base.weight", old.weight().name());
        INDArray after;
        try (var s = GradMode.noGrad()) {
            after = m.forward(tokens).value();
        }
        assertTrue(before.sub(after).amaxNumber().doubleValue() > 1e-3, "replacement had no effect");
        attention.replaceChild("wq", old);
        try (var s = GradMode.noGrad()) {
            assertEquals(0.0, before.sub(m.forward(tokens).value()).amaxNumber().doubleValue());
        }
        // The inference snapshot needs plain weights: it says so when a linear was wrapped.
        attention.replaceChild("wq", new Doubled(old));
        var e = assertThrows(IllegalArgumentException.class, () -> new InferenceSession(m));
        assertTrue(e.getMessage().contains("layers.2.attention.wq.weight"), e.getMessage());
    }

    @Test
    void randomInitIsDeterministicAndFollowsTheScheme() {
        var cfg = new LlamaConfig(32, 48, 4, 4, 4, 100, 16, true);
        Llama a = Llama.random(cfg, DataType.FLOAT, 3);
        Llama b = Llama.random(cfg, DataType.FLOAT, 3);
        Llama c = Llama.random(cfg, DataType.FLOAT, 4);
        Llama2cFormatTest.assertSameWeights(a, b, 0.0);
        assertTrue(a.tokEmbeddings().weight().value().sub(c.tokEmbeddings().weight().value()).amaxNumber()
                .doubleValue() > 0);
        var p = a.namedParameters();
        assertEquals(1.0, p.get("layers.1.ffn_norm.weight").value().minNumber().doubleValue());
        double std = p.get("layers.0.attention.wq.weight").value().stdNumber().doubleValue();
        assertEquals(0.02, std, 0.002);
        double stdWo = p.get("layers.0.attention.wo.weight").value().stdNumber().doubleValue();
        assertEquals(0.02 / Math.sqrt(8), stdWo, 0.001);
    }

    @Test
    void badTokensShapeIsRejected() {
        Llama m = new Llama(new LlamaConfig(16, 24, 1, 4, 2, 40, 8, true), DataType.FLOAT);
        var e = assertThrows(IllegalArgumentException.class, () -> m.forward(Nd4j.createFromArray(new int[] {1, 2})));
        assertTrue(e.getMessage().contains("[B, T]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(Nd4j.createFromArray(new int[1][9])));
        assertTrue(e.getMessage().contains("maxSeqLen 8"), e.getMessage());
    }
}
