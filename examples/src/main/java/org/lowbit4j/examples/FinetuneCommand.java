package org.lowbit4j.examples;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import me.tongfei.progressbar.ProgressBar;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.datasets.instruct.InstructionDataset;
import org.lowbit4j.datasets.instruct.InstructionReader;
import org.lowbit4j.datasets.instruct.InstructionRecord;
import org.lowbit4j.datasets.text.TextDataset;
import org.lowbit4j.lora.BaseFormat;
import org.lowbit4j.lora.InjectionReport;
import org.lowbit4j.lora.LoraAdapters;
import org.lowbit4j.lora.LoraConfig;
import org.lowbit4j.lora.LoraInjector;
import org.lowbit4j.lora.Nf4Checkpoint;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.Llama2cFormat;
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
 * {@code lowbit4j finetune}: LoRA or QLoRA fine-tuning of a llama2.c checkpoint on plain text or
 * Alpaca records, then merge and export. Validation perplexity (the {@link Perplexity} protocol) is
 * measured on the held-out split before and after: for text, the last 10% of the tokens; for Alpaca,
 * the last 10% of the records, each encoded with the prompt template and concatenated into one stream.
 * {@code --stop-after N} saves the adapter and the training state after N steps; {@code --resume DIR}
 * continues from them (same options otherwise) and ends exactly where an uninterrupted run ends.
 */
@Command(name = "finetune", description = "LoRA/QLoRA fine-tuning of a llama2.c model; writes adapter, merged v0/v2 and NF4 models.")
final class FinetuneCommand implements Callable<Integer> {
    enum Method { qlora, lora }

    @Option(names = "--model", required = true, description = "llama2.c checkpoint") Path model;
    @Option(names = "--tokenizer", required = true, description = "llama2.c tokenizer file") Path tokenizer;
    @Option(names = "--data", required = true, description = "plain text, or Alpaca records (.json array or .jsonl)") Path data;
    @Option(names = "--out", required = true, description = "output directory") Path out;
    @Option(names = "--method", defaultValue = "qlora", description = "qlora (NF4 base) | lora (fp32 base)") Method method;
    @Option(names = "--rank", defaultValue = "8") int rank;
    @Option(names = "--alpha", defaultValue = "16") double alpha;
    @Option(names = "--steps", defaultValue = "200") int steps;
    @Option(names = "--lr", defaultValue = "3e-3") double lr;
    @Option(names = "--batch", defaultValue = "8") int batch;
    @Option(names = "--seq", defaultValue = "128") int seq;
    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw | adamw8bit | adamw4bit | sgd")
    Cli.OptimizerKind optimizerKind;
    @Mixin PrecisionOptions precision;
    @Option(names = "--seed", defaultValue = "42") long seed;
    @Option(names = "--resume", description = "continue the run whose output directory this is, up to --steps in total")
    Path resume;
    @Option(names = "--stop-after", description = "save the adapter and state and stop after this many steps (of --steps)")
    Integer stopAfter;

    @Override
    public Integer call() throws Exception {
        // ---- model and data
        Llama llama = Llama2cFormat.read(model, DataType.FLOAT);
        Tokenizer tok = Tokenizer.load(tokenizer, llama.config().vocabSize());
        if (seq > llama.config().maxSeqLen()) {
            throw new IllegalArgumentException("--seq " + seq + " exceeds the model's seq_len " + llama.config().maxSeqLen());
        }
        String name = data.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        boolean alpaca = name.endsWith(".json") || name.endsWith(".jsonl");
        Supplier<TokenBatch> batches;
        int[] validation;
        if (alpaca) {
            List<InstructionRecord> records = InstructionReader.read(data);
            int nVal = Math.max(1, records.size() / 10);
            var train = InstructionDataset.encode(records.subList(0, records.size() - nVal), tok, seq + 1);
            var val = InstructionDataset.encode(records.subList(records.size() - nVal, records.size()), tok, seq + 1);
            validation = val.examples().stream().flatMapToInt(e -> java.util.Arrays.stream(e.tokens())).toArray();
            batches = Cli.epochs(train, batch, seed);
        } else {
            TextDataset ds = TextDataset.fromFile(data, tok);
            validation = ds.validationTokens();
            var it = ds.randomBatches(batch, seq, seed);
            batches = it::next;
        }
        Perplexity.Result before = Perplexity.evaluate(llama, validation, seq);

        // ---- adapters on every attention and MLP linear; the rest of the model is frozen
        LoraConfig config = LoraConfig.of(rank, alpha);
        InjectionReport report = LoraInjector.inject(llama, config, method == Method.qlora ? BaseFormat.NF4 : BaseFormat.FP32, seed);
        System.err.println("lowbit4j finetune: " + report);
        if (resume != null) {
            LoraAdapters.load(llama, resume.resolve("adapter")); // the trained adapter weights replace the fresh ones
        }
        List<Tensor> params = LoraAdapters.trainableParameters(llama);
        Optimizer opt = Cli.optimizer(optimizerKind, params, lr, 0.0);
        LrSchedule schedule = new LrSchedule.WarmupCosine(lr, lr / 10, Math.min(20, steps), steps);
        // ---- precision: adapters stay fp32 masters; LoRA layers round their input and output to --precision
        Autocast.Policy policy = precision.policy(llama);
        LossScaler scaler = precision.scaler();
        System.err.println("lowbit4j finetune: " + policy + (scaler != null ? ", " + scaler : ""));
        int first = resume == null ? 0 : TrainingState.restore(resume, opt, scaler, policy);
        int last = stopAfter == null ? steps : Math.min(steps, stopAfter);
        for (int i = 0; i < first; i++) {
            batches.get(); // the batches the resumed run already trained on
        }
        Files.createDirectories(out);
        Path metricsFile = out.resolve("metrics.jsonl");

        long tokens = 0;
        long start = System.nanoTime();
        try (PrintWriter metrics = new PrintWriter(Files.newBufferedWriter(metricsFile, StandardOpenOption.CREATE,
                first > 0 ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE));
                ProgressBar bar = Cli.progress("finetune", steps)) {
            for (int step = first; step < last; step++) {
                // lr
                opt.setLr(schedule.lr(step));
                // forward (in the working precision) / backward (on the scaled loss)
                TokenBatch b = batches.get();
                Tensor loss;
                try (var ac = Autocast.enable(policy)) {
                    loss = llama.loss(b.inputsArray(), b.targetsArray(), TokenBatch.IGNORE_INDEX);
                }
                (scaler != null ? scaler.scale(loss) : loss).backward();
                // unscale, clip, step; a step with inf/NaN gradients is skipped (the scaler logs it): norm NaN
                double norm = MixedPrecision.unscaleClipStep(scaler, opt, 1.0);
                opt.zeroGrad();
                if (step % 10 == 9) {
                    // NOTE: ND4J frees native buffers only when their Java wrappers are collected, and a
                    // training step barely touches the Java heap: without this, resident memory grows by GBs.
                    System.gc();
                }
                // log
                tokens += (long) b.batchSize() * b.seqLen();
                double lossValue = loss.value().getDouble(0);
                double tps = tokens / ((System.nanoTime() - start) / 1e9);
                metrics.println(Cli.metricsRow(step, lossValue, opt.lr(), tps, norm, scaler));
                bar.step();
                bar.setExtraMessage(String.format(" loss %.4f lr %.2e %.0f tok/s", lossValue, opt.lr(), tps));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;

        // ---- evaluate, merge into the weights the adapters trained against, export
        Perplexity.Result after;
        try (var ac = Autocast.enable(policy)) { // evaluated in the precision it trained in
            after = Perplexity.evaluate(llama, validation, seq);
        }
        Path adapterDir = out.resolve("adapter");
        LoraAdapters.save(llama, adapterDir);
        TrainingState.save(out, opt, scaler, policy, last);
        Llama merged = LoraAdapters.merge(llama);
        Path v0 = out.resolve("merged.bin");
        Path v2 = out.resolve("merged-q8.bin");
        Path nf4 = out.resolve("merged-nf4.lb4");
        Llama2cFormat.writeV0(merged, v0);
        Llama2cFormat.writeV2(merged, v2, Llama2cFormat.defaultGroupSize(merged.config()));
        Nf4Checkpoint.write(merged, nf4, LoraInjector.NF4_BLOCK);
        double pplMerged = Perplexity.evaluate(Llama2cFormat.read(v0, DataType.FLOAT), validation, seq).perplexity();
        double pplV2 = Perplexity.evaluate(Llama2cFormat.read(v2, DataType.FLOAT), validation, seq).perplexity();
        double pplNf4 = Perplexity.evaluate(Nf4Checkpoint.read(nf4), validation, seq).perplexity();

        ObjectNode result = Cli.object().put("val_ppl_before", before.perplexity()).put("val_ppl_after", after.perplexity())
                .put("val_ppl_merged_v0", pplMerged).put("val_ppl_v2_int8", pplV2).put("val_ppl_nf4", pplNf4)
                .put("val_tokens", after.tokens()).put("steps", last).put("tokens_per_s", tokens / seconds)
                .put("method", method.name()).put("trainable_parameters", report.trainableParameters())
                .put("frozen_bytes_per_weight", report.baseBytesPerParameter()).put("optimizer", optimizerKind.name())
                .put("precision", precision.precision.name()).put("skipped_steps", scaler != null ? scaler.skippedSteps() : 0)
                .put("adapter", adapterDir.toString()).put("merged_v0", v0.toString()).put("merged_v2", v2.toString())
                .put("merged_nf4", nf4.toString()).put("metrics", metricsFile.toString());
        System.out.println(result);
        return 0;
    }
}
