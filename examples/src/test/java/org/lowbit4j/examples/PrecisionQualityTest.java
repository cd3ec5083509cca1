package org.lowbit4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lowbit4j.datasets.SharedData;
import org.lowbit4j.examples.bench.OptimQuality;
import org.lowbit4j.examples.bench.OptimQuality.Kind;
import org.lowbit4j.mixedprec.Precision;
import org.lowbit4j.models.LlamaConfig;

/**
 * A shortened {@code bench precision-quality}: the same small Llama trained from scratch on tinyshakespeare in fp32,
 * BF16, FP16 with the dynamic loss scaler and FP8 (HYBRID, delayed scaling), same weights, batches and schedule. BF16
 * and FP16 must end within 1% of the fp32 validation loss, FP8 within 3%, and fp32 must have learned.
 */
class PrecisionQualityTest {
    @Test
    void lowPrecisionTrainsASmallLlamaAsWellAsFp32() throws Exception {
        int[] tokens = OptimQuality.tokens(SharedData.file("text/tinyshakespeare.txt"), SharedData.file("models/tok512.bin"), 120_000);
        var cfg = new LlamaConfig(64, 160, 2, 2, 2, 512, 48, true);
        var setup = new OptimQuality.Setup(cfg, 8, 48, 60, 3e-3, 6, 60, 4, 1234);
        Map<Precision, Double> loss = new EnumMap<>(Precision.class);
        for (Precision p : Precision.values()) {
            loss.put(p, OptimQuality.train(Kind.ADAMW, p, setup, tokens).finalValLoss());
        }
        double fp32 = loss.get(Precision.FP32);
        System.out.printf("validation loss after 60 steps: %s%n", loss);
        assertTrue(fp32 < Math.log(512) - 1.0, "fp32 did not learn: " + fp32 + " vs ln(512) = 6.24");
        for (Precision p : new Precision[] {Precision.BF16, Precision.FP16}) {
            assertTrue(Math.abs(loss.get(p) / fp32 - 1) <= 0.01, p + " " + loss.get(p) + " not within 1% of fp32 " + fp32);
        }
        assertTrue(Math.abs(loss.get(Precision.FP8) / fp32 - 1) <= 0.03, "FP8 " + loss.get(Precision.FP8)
                + " not within 3% of fp32 " + fp32);
    }
}
