package org.lowbit4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lowbit4j.datasets.SharedData;
import org.lowbit4j.examples.bench.OptimQuality;
import org.lowbit4j.examples.bench.OptimQuality.Kind;
import org.lowbit4j.models.LlamaConfig;

/**
 * A shortened {@link OptimQuality} comparison: the same small Llama trained from scratch on tinyshakespeare
 * with fp32 AdamW, AdamW8bit and AdamW4bit (same weights, batches and schedule). The 8-bit run must end
 * within 2% of the fp32 validation loss and the 4-bit run within 3%, and all must have learned.
 */
class OptimizerQualityTest {
    @Test
    void quantizedStatesTrainASmallLlamaAsWellAsFp32() throws Exception {
        int[] tokens = OptimQuality.tokens(SharedData.file("text/tinyshakespeare.txt"), SharedData.file("models/tok512.bin"), 120_000);
        // dim 64, hidden 160, 2 layers, 2 heads, tied classifier: every matrix has >= 4096 elements, so all
        // of them are quantized (only the norms keep fp32 state).
        var cfg = new LlamaConfig(64, 160, 2, 2, 2, 512, 48, true);
        var setup = new OptimQuality.Setup(cfg, 8, 48, 60, 3e-3, 6, 60, 4, 1234);
        Map<Kind, Double> loss = new EnumMap<>(Kind.class);
        for (Kind k : Kind.values()) {
            loss.put(k, OptimQuality.train(k, setup, tokens).finalValLoss());
        }
        double fp32 = loss.get(Kind.ADAMW);
        double q8 = loss.get(Kind.ADAMW8BIT);
        double q4 = loss.get(Kind.ADAMW4BIT);
        System.out.printf("validation loss after 60 steps: fp32 %.4f, 8-bit %.4f, 4-bit %.4f%n", fp32, q8, q4);
        assertTrue(fp32 < Math.log(512) - 1.0, "fp32 AdamW did not learn: " + fp32 + " vs ln(512) = 6.24");
        assertTrue(Math.abs(q8 / fp32 - 1) <= 0.02, "8-bit " + q8 + " not within 2% of fp32 " + fp32);
        assertTrue(Math.abs(q4 / fp32 - 1) <= 0.03, "4-bit " + q4 + " not within 3% of fp32 " + fp32);
    }
}
