package org.lowbit4j.examples;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.datasets.text.RandomWindows;
import org.lowbit4j.datasets.text.TextDataset;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.Llama2cFormat;
import org.lowbit4j.models.LlamaConfig;
import org.lowbit4j.mixedprec.LossScaler;
import org.lowbit4j.mixedprec.MixedPrecision;
import org.lowbit4j.models.eval.Perplexity;
import org.lowbit4j.optim.LrSchedule;
import org.lowbit4j.optim.Optimizer;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lowbit4j pretrain}: trains a Llama from scratch on a text file and writes a llama2.c v0
 * checkpoint. One plain loop: lr, forward/backward, clip-step, log; then eval and checkpoint.
 */
@Command(name = "pretrain", description = "Train a Llama from scratch on a text file; writes a llama2.c v0 checkpoint.")
final class PretrainCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", required = true, description = "llama2.c tokenizer file") Path tokenizer;
    @Option(names = "--data", required = true, description = "UTF-8 text file") Path data;
    @Option(names = "--out", required = true, description = "output directory") Path out;
    @Option(names = "--dim", defaultValue = "64") int dim;
    @Option(names = "--layers", defaultValue = "4") int layers;
    @Option(names = "--heads", defaultValue = "4") int heads;
    @Option(names = "--kv-heads", description = "default: --heads") Integer kvHeads;
    @Option(names = "--hidden", description = "default: 8*dim/3 rounded up to a multiple of 32") Integer hidden;
    @Option(names = "--seq", defaultValue = "128") int seq;
    @Option(names = "--batch", defaultValue = "16") int batch;
    @Option(names = "--steps", defaultValue = "500") int steps;
    @Option(names = "--lr", defaultValue = "3e-3", description = "peak learning rate") double lr;
    @Option(names = "--warmup", defaultValue = "50") int warmup;
    @Option(names = "--weight-decay", defaultValue = "0.1") double weightDecay;
    @Option(names = "--clip", defaultValue = "1.0", description = "max global gradient norm") double clip;
    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw | adamw8bit | adamw4bit | sgd")
    Cli.OptimizerKind optimizerKind;
    @Option(names = "--seed", defaultValue = "1337") long seed;
    @Option(names = "--resume", description = "continue the run whose output directory this is, up to --steps in total")
    Path resume;
    @Option(names = "--stop-after", description = "checkpoint and stop after this many steps (of --steps); --resume continues")
    Integer stopAfter;
    @Mixin PrecisionOptions precision;

    @Override
    public Integer call() throws Exception {
        // ---- data: whole file encoded once (BOS first); the tail is held out for validation
        Tokenizer tok = Tokenizer.load(tokenizer); // vocabulary size = entries in the file
        TextDataset ds = TextDataset.fromFile(data, tok);
        RandomWindows batches = ds.randomBatches(batch, seq, seed);

        // ---- model and optimizer
        int hid = hidden != null ? hidden : ((8 * dim / 3 + 31) / 32) * 32;
        LlamaConfig config = new LlamaConfig(dim, hid, layers, heads, kvHeads != null ? kvHeads : heads,
                tok.vocabSize(), seq, true);
        Llama model = resume == null ? Llama.random(config, DataType.FLOAT, seed)
                : Llama2cFormat.read(resume.resolve("model.bin"), DataType.FLOAT);
        if (!model.config().equals(config)) {
            throw new IllegalArgumentException("--resume: " + resume.resolve("model.bin") + " has config "
                    + model.config() + ", the options give " + config);
        }
        List<Tensor> params = model.trainableParameters();
        Optimizer opt = Cli.optimizer(optimizerKind, params, lr, weightDecay);
        LrSchedule schedule = new LrSchedule.WarmupCosine(lr, lr / 10, Math.min(warmup, steps), steps);
        // ---- precision: master weights stay fp32; the products run in --precision
        Autocast.Policy policy = precision.policy(model);
        LossScaler scaler = precision.scaler();
        System.err.println("lowbit4j pretrain: " + policy + (scaler != null ? ", " + scaler : ""));
        int first = resume == null ? 0 : TrainingState.restore(resume, opt, scaler, policy);
        int last = stopAfter == null ? steps : Math.min(steps, stopAfter);
        for (int i = 0; i < first; i++) {
            batches.next(); // the batches the resumed run already trained on
        }
        Files.createDirectories(out);
        Path metricsFile = out.resolve("metrics.jsonl");

        long tokens = 0;
        long start = System.nanoTime();
        try (PrintWriter metrics = new PrintWriter(Files.newBufferedWriter(metricsFile, StandardOpenOption.CREATE,
                first > 0 ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE));
                ProgressBar bar = Cli.progress("pretrain", steps)) {
            for (int step = first; step < last; step++) {
                // lr
                opt.setLr(schedule.lr(step));
                // forward (products in the working precision) / backward (on the scaled loss)
                TokenBatch b = batches.next();
                Tensor loss;
                try (var ac = Autocast.enable(policy)) {
                    loss = model.loss(b.inputsArray(), b.targetsArray(), TokenBatch.IGNORE_INDEX);
                }
                (scaler != null ? scaler.scale(loss) : loss).backward();
                // unscale, clip, step; a step with inf/NaN gradients is skipped (the scaler logs it): norm NaN
                double norm = MixedPrecision.unscaleClipStep(scaler, opt, clip);
                opt.zeroGrad();
                if (step % 10 == 9) {
                    // NOTE: ND4J frees native buffers only when their Java wrappers are collected, and a
                    // training step barely touches the Java heap: without this, resident memory grows by GBs.
                    System.gc();
                }
                // log
                tokens += (long) batch * seq;
                double lossValue = loss.value().getDouble(0);
                double tps = tokens / ((System.nanoTime() - start) / 1e9);
                metrics.println(Cli.metricsRow(step, lossValue, opt.lr(), tps, norm, scaler));
                bar.step();
                bar.setExtraMessage(String.format(" loss %.4f lr %.2e %.0f tok/s", lossValue, opt.lr(), tps));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;

        // ---- checkpoint (the fp32 master weights, then the state --resume needs), then eval
        Path modelFile = out.resolve("model.bin");
        Path tokFile = out.resolve("tokenizer.bin");
        Llama2cFormat.writeV0(model, modelFile);
        TrainingState.save(out, opt, scaler, policy, last);
        Files.copy(tokenizer, tokFile, StandardCopyOption.REPLACE_EXISTING);
        Perplexity.Result val;
        try (var ac = Autocast.enable(policy)) { // evaluated in the precision it trained in
            val = Perplexity.evaluate(model, ds.validationTokens(), seq);
        }
        ObjectNode result = Cli.object().put("val_ppl_after", val.perplexity()).put("val_tokens", val.tokens())
                .put("steps", last).put("tokens_per_s", tokens / seconds).put("optimizer", optimizerKind.name())
                .put("precision", precision.precision.name()).put("skipped_steps", scaler != null ? scaler.skippedSteps() : 0)
                .put("optimizer_state_bytes", opt.stateBytes()).put("parameters", model.parameterCount())
                .put("model", modelFile.toString()).put("tokenizer", tokFile.toString())
                .put("metrics", metricsFile.toString());
        System.out.println(result);
        return 0;
    }
}
