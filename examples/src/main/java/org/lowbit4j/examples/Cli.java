package org.lowbit4j.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.function.Supplier;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.instruct.InstructionDataset;
import org.lowbit4j.mixedprec.LossScaler;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamW4bit;
import org.lowbit4j.optim.AdamW8bit;
import org.lowbit4j.optim.AdamWConfig;
import org.lowbit4j.optim.Optimizer;
import org.lowbit4j.optim.Sgd;
import org.lowbit4j.optim.SgdConfig;

/** Small helpers shared by the commands: tokenizer sizing, optimizer choice, progress, JSON output. */
final class Cli {
    static final ObjectMapper JSON = new ObjectMapper();

    private Cli() {
    }

    /** Padded instruction batches, reshuffled every epoch (seed + epoch), forever. */
    static Supplier<TokenBatch> epochs(InstructionDataset ds, int batch, long seed) {
        return new Supplier<>() {
            private int epoch;
            private Iterator<TokenBatch> it = ds.paddedBatches(batch, InstructionDataset.DEFAULT_PAD_ID, seed).iterator();

            @Override
            public TokenBatch get() {
                if (!it.hasNext()) {
                    it = ds.paddedBatches(batch, InstructionDataset.DEFAULT_PAD_ID, seed + ++epoch).iterator();
                }
                return it.next();
            }
        };
    }

    /**
     * One row of {@code metrics.jsonl}.
     *
     * @param gradNorm the gradient norm before clipping, NaN for a step skipped on inf/NaN gradients
     * @param scaler the loss scaler, or null
     * @return {step, loss, lr, tokens_per_s, grad_norm or skipped: true, loss_scale when scaled}
     */
    static ObjectNode metricsRow(int step, double loss, double lr, double tokensPerSecond, double gradNorm,
            LossScaler scaler) {
        ObjectNode row = object().put("step", step).put("loss", loss).put("lr", lr).put("tokens_per_s", tokensPerSecond);
        if (Double.isNaN(gradNorm)) {
            row.put("skipped", true);
        } else {
            row.put("grad_norm", gradNorm);
        }
        if (scaler != null) {
            row.put("loss_scale", scaler.scale());
        }
        return row;
    }

    /** The optimizers the commands offer. */
    enum OptimizerKind { adamw, adamw8bit, adamw4bit, sgd }

    /**
     * @param weightDecay AdamW's decoupled weight decay (SGD: L2 decay)
     * @return the optimizer over {@code params}, learning rate {@code lr}
     */
    static Optimizer optimizer(OptimizerKind kind, List<Tensor> params, double lr, double weightDecay) {
        AdamWConfig adam = AdamWConfig.DEFAULTS.withLr(lr).withWeightDecay(weightDecay);
        return switch (kind) {
            case adamw -> new AdamW(params, adam);
            case adamw8bit -> new AdamW8bit(params, adam);
            case adamw4bit -> new AdamW4bit(params, adam);
            case sgd -> new Sgd(params, SgdConfig.DEFAULTS.withLr(lr));
        };
    }

    /**
     * A progress bar on standard error (standard output carries results only). On a terminal it
     * redraws in place; otherwise (CI logs, files) it prints a plain line every few seconds.
     */
    static ProgressBar progress(String task, long steps) {
        boolean terminal = System.console() != null;
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setMaxRenderedLength(110);
        if (terminal) {
            b.setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).setUpdateIntervalMillis(250);
        } else {
            b.setConsumer(new me.tongfei.progressbar.DelegatingProgressBarConsumer(System.err::println, 110))
                    .setUpdateIntervalMillis(5000);
        }
        return b.build();
    }

    /** @return peak resident memory of this process in MiB (VmHWM), or -1 where /proc is missing */
    static double peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    static ObjectNode object() {
        return JSON.createObjectNode();
    }
}
