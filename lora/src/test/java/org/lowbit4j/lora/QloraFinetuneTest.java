package org.lowbit4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.datasets.SharedData;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.datasets.text.TextDataset;
import org.lowbit4j.models.Generator;
import org.lowbit4j.models.InferenceSession;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.Llama2cFormat;
import org.lowbit4j.models.Sampler;
import org.lowbit4j.models.eval.Perplexity;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamWConfig;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * QLoRA end to end on real data: stories260K (trained on TinyStories) fine-tuned on Shakespeare with an
 * NF4 double-quantized frozen base and r = 8 adapters on all 35 linears, then merged and exported.
 */
class QloraFinetuneTest {
    static final int STEPS = Integer.getInteger("lowbit4j.qloraSteps", 300);
    static final int BATCH = 8;
    static final int SEQ = 64;
    static final int VALIDATION_TOKENS = ShakespeareSplit.VALIDATION_TOKENS;

    @TempDir
    Path tmp;

    @Test
    void qloraLowersValidationPerplexityAndExportsFaithfully() throws Exception {
        ShakespeareSplit split = ShakespeareSplit.load();
        TextDataset data = split.data();
        int[] val = split.validation();
        Tokenizer tok = split.tok();

        Llama model = Llama2cFormat.read(SharedData.file("models/stories260K.bin"), DataType.FLOAT);
        long tStart = System.nanoTime();
        double pplBase = Perplexity.evaluate(model, val, SEQ).perplexity();
        InjectionReport report = LoraInjector.inject(model, LoraConfig.defaults(), BaseFormat.NF4, 42);
        double pplNf4 = Perplexity.evaluate(model, val, SEQ).perplexity();
        assertTrue(report.baseBytesPerParameter() <= 0.52, report.toString());

        var opt = new AdamW(LoraAdapters.trainableParameters(model), AdamWConfig.DEFAULTS.withLr(2e-3).withWeightDecay(0));
        var batches = data.randomBatches(BATCH, SEQ, 7);
        double firstLoss = 0;
        double lastLoss = 0;
        long t0 = System.nanoTime();
        for (int step = 0; step < STEPS; step++) {
            TokenBatch b = batches.next();
            Tensor loss = model.loss(b.inputsArray(), b.targetsArray(), TokenBatch.IGNORE_INDEX);
            loss.backward();
            opt.step();
            opt.zeroGrad();
            double l = loss.value().getDouble(0);
            firstLoss = step < 10 ? firstLoss + l / 10 : firstLoss;
            lastLoss = step >= STEPS - 10 ? lastLoss + l / 10 : lastLoss;
            if (step % 10 == 9) {
                // NOTE: ND4J frees native buffers only when their Java wrappers are collected, and the
                // small Java heap use of a training step rarely triggers a GC: without this, native
                // memory grows by the step's temporaries until JavaCPP's limit (about 2x -Xmx).
                System.gc();
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf(java.util.Locale.ROOT, "setup+2 evals %.1f s, training %.1f s%n", (t0 - tStart) / 1e9, secs);
        double pplTuned = Perplexity.evaluate(model, val, SEQ).perplexity();

        Llama merged = LoraAdapters.merge(model);
        double pplMerged = Perplexity.evaluate(merged, val, SEQ).perplexity();
        var vb = org.nd4j.linalg.factory.Nd4j.createFromArray(Arrays.copyOf(val, 4 * SEQ)).reshape(4, SEQ)
                .castTo(DataType.INT);
        double logitDiff;
        try (var s = org.lowbit4j.autograd.GradMode.noGrad()) {
            logitDiff = model.forward(vb).value().sub(merged.forward(vb).value()).amaxNumber().doubleValue();
        }
        assertTrue(logitDiff <= 1e-4, "merged vs base + adapters logits differ by " + logitDiff);

        Path v0 = tmp.resolve("qlora_v0.bin");
        Llama2cFormat.writeV0(merged, v0);
        Llama reloaded = Llama2cFormat.read(v0, DataType.FLOAT);
        double pplV0 = Perplexity.evaluate(reloaded, val, SEQ).perplexity();
        var mp = merged.namedParameters();
        reloaded.namedParameters().forEach((k, v) -> assertArrayEquals(mp.get(k).value().data().asFloat(),
                v.value().data().asFloat(), "v0 round trip of " + k));

        Path v2 = tmp.resolve("qlora_v2.bin");
        Llama2cFormat.writeV2(merged, v2, Llama2cFormat.defaultGroupSize(merged.config()));
        double pplV2 = Perplexity.evaluate(Llama2cFormat.read(v2, DataType.FLOAT), val, SEQ).perplexity();

        Path nf4 = tmp.resolve("qlora.lb4");
        Nf4Checkpoint.write(model, nf4, 64);
        double pplRequant = Perplexity.evaluate(Nf4Checkpoint.read(nf4), val, SEQ).perplexity();

        var out = new ByteArrayOutputStream();
        var gen = new Generator(new InferenceSession(reloaded), tok, Sampler.greedy(512)).generate("ROMEO:", 60, out);
        String text = out.toString(StandardCharsets.UTF_8);

        System.out.printf(java.util.Locale.ROOT, """
                QLoRA stories260K on tinyshakespeare: %d steps, batch %d x %d, AdamW lr 2e-3, %.1f s (%.0f ms/step)
                  %s
                  train loss (mean of 10 steps) %.4f -> %.4f
                  max |logits(merged) - logits(NF4 base + adapters)| on a [4, %d] validation batch: %.2e
                  validation perplexity (%d tokens, seq %d):
                    fp32 base                     %.4f
                    NF4 base (before tuning)      %.4f
                    NF4 base + adapters (tuned)   %.4f
                    merged fp32                   %.4f
                    exported llama2.c v0 (fp32)   %.4f  (%d bytes)
                    exported llama2.c v2 (int8)   %.4f  (%d bytes)
                    re-quantized NF4 checkpoint   %.4f  (%d bytes)
                  greedy sample from the v0 export: %s
                """, STEPS, BATCH, SEQ, secs, 1000 * secs / STEPS, report, firstLoss, lastLoss, SEQ, logitDiff,
                VALIDATION_TOKENS, SEQ,
                pplBase, pplNf4, pplTuned, pplMerged, pplV0, Files.size(v0), pplV2, Files.size(v2), pplRequant,
                Files.size(nf4), text.strip().replace('\n', ' '));

        assertTrue(pplTuned < 0.75 * pplNf4, "tuning should lower validation perplexity clearly: " + pplNf4 + " -> "
                + pplTuned);
        assertEquals(pplTuned, pplMerged, 1e-4 * pplTuned, "merging is exact");
        assertEquals(pplMerged, pplV0, 1e-5 * pplMerged, "the v0 export holds the merged weights");
        assertTrue(Math.abs(pplV2 - pplMerged) < 0.05 * pplMerged, "int8 export " + pplV2 + " vs " + pplMerged);
        // Re-quantizing is lossy (the adapter updates are small next to NF4's steps) but keeps most of the gain.
        assertTrue(pplRequant > pplMerged && pplRequant < pplMerged + 0.25 * (pplNf4 - pplMerged),
                "re-quantized NF4 " + pplRequant + " vs merged " + pplMerged + " and untuned NF4 " + pplNf4);
        assertTrue(gen.tokensAfterBos().length > 10 && !text.isBlank(), "generation: " + Arrays.toString(gen.tokensAfterBos()));
    }
}
