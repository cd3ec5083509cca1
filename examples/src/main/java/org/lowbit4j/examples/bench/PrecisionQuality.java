package org.lowbit4j.examples.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.lowbit4j.examples.bench.OptimQuality.Curve;
import org.lowbit4j.examples.bench.OptimQuality.Kind;
import org.lowbit4j.examples.bench.OptimQuality.Options;
import org.lowbit4j.examples.bench.OptimQuality.Setup;
import org.lowbit4j.mixedprec.Precision;
import org.lowbit4j.models.LlamaConfig;

/**
 * Trains the same small Llama from scratch in fp32, BF16, FP16 (dynamic loss scaling) and FP8 (HYBRID, delayed
 * scaling), with the same initial weights, batches, schedule and AdamW, and compares the final validation losses:
 * the quality check of mixed precision. Same data, model and options as {@link OptimQuality}.
 *
 * <p>Usage: {@code ./lowbit4j bench precision-quality [--steps 600] [--dim 128] [--layers 4] [--batch 8]
 * [--seq 128] [--lr 3e-3] [--out bench-out] [--data DIR]}; prints a table and writes {@code precision_quality.csv}
 * and {@code precision_quality.png}.
 */
public final class PrecisionQuality {
    private PrecisionQuality() {
    }

    /**
     * @param args see the class comment
     * @throws IOException on a read or write failure
     * @throws IllegalArgumentException on a bad option or missing data
     */
    public static void run(String[] args) throws IOException {
        Options o = Options.parse(args);
        int[] tokens = o.tokens();
        Setup setup = o.setup();
        LlamaConfig cfg = setup.config();
        System.out.printf(Locale.ROOT, "model dim %d, hidden %d, %d layers, vocab 512; %,d tokens; B %d, T %d, %d steps,"
                + " AdamW lr %.1e; fp16 with dynamic loss scaling, fp8 HYBRID delayed (history 1024, max)%n",
                cfg.dim(), cfg.hiddenDim(), cfg.nLayers(), tokens.length, o.batch(), o.seq(), o.steps(), o.lr());
        List<Curve> curves = new ArrayList<>();
        for (Precision p : Precision.values()) {
            Curve c = OptimQuality.train(Kind.ADAMW, p, setup, tokens);
            c = new Curve(p.name(), c.evalSteps(), c.valLoss(), c.trainLoss(), c.stateBytes(), c.seconds());
            curves.add(c);
            System.out.printf(Locale.ROOT, "%s: final validation loss %.4f (%.0f s)%n", p, c.finalValLoss(), c.seconds());
        }
        double base = curves.getFirst().finalValLoss();
        System.out.println();
        System.out.println("| precision | final val loss | vs fp32 | wall time |");
        System.out.println("|---|---:|---:|---:|");
        for (Curve c : curves) {
            System.out.printf(Locale.ROOT, "| %s | %.4f | %+.2f%% | %.0f s |%n", c.optimizer(), c.finalValLoss(),
                    100 * (c.finalValLoss() / base - 1), c.seconds());
        }
        Path out = o.out();
        Files.createDirectories(out);
        OptimQuality.writeCsv(curves, out.resolve("precision_quality.csv"));
        OptimQuality.writeChart(curves, out.resolve("precision_quality.png"), "Validation loss by precision, "
                + "tinyshakespeare, dim " + cfg.dim() + ", " + cfg.nLayers() + " layers");
        System.out.println("wrote " + out.resolve("precision_quality.csv") + " and " + out.resolve("precision_quality.png"));
    }
}
