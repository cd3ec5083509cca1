package org.lowbit4j.examples;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import me.tongfei.progressbar.ProgressBar;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.datasets.instruct.InstructionDataset;
import org.lowbit4j.datasets.synthetic.ExactMatch;
import org.lowbit4j.datasets.synthetic.SyntheticExample;
import org.lowbit4j.datasets.synthetic.SyntheticTask;
import org.lowbit4j.datasets.synthetic.SyntheticVocabulary;
import org.lowbit4j.datasets.synthetic.TaskKind;
import org.lowbit4j.lora.BaseFormat;
import org.lowbit4j.lora.InjectionReport;
import org.lowbit4j.lora.LoraAdapters;
import org.lowbit4j.lora.LoraConfig;
import org.lowbit4j.lora.LoraInjector;
import org.lowbit4j.lora.Nf4Checkpoint;
import org.lowbit4j.models.Generator;
import org.lowbit4j.models.InferenceSession;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.Llama2cFormat;
import org.lowbit4j.models.LlamaConfig;
import org.lowbit4j.models.Sampler;
import org.lowbit4j.optim.GradClip;
import org.lowbit4j.optim.LrSchedule;
import org.lowbit4j.optim.Optimizer;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lowbit4j demo}, the main job, on data it generates itself (no downloads, no ../shared):
 * pre-trains a small Llama to copy words ("copy: abc = abc"), measures exact-match accuracy on
 * shifting each letter ("shift: abc = bcd"), which it was never taught, QLoRA-fine-tunes it on
 * shifting (NF4 frozen base + rank-8 adapters), merges, exports, and measures again. Shifting reuses
 * copying's attention pattern with a new output mapping: a good fit for low-rank adapters.
 */
@Command(name = "demo", description = "The main job: pre-train on generated tasks, QLoRA-fine-tune on a new one, merge, export.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "runs/demo", description = "output directory (default: ${DEFAULT-VALUE})") Path out;
    @Option(names = "--seed", defaultValue = "1234") long seed;
    @Option(names = "--base-steps", defaultValue = "1500") int baseSteps;
    @Option(names = "--finetune-steps", defaultValue = "600") int finetuneSteps;
    @Option(names = "--batch", defaultValue = "32") int batch;
    @Option(names = "--eval", defaultValue = "200", description = "test examples per task") int evalCount;

    static final LlamaConfig CONFIG = new LlamaConfig(64, 192, 2, 4, 4, SyntheticVocabulary.VOCAB_SIZE, 32, true);

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        // ---- data: a tokenizer file and four generated example sets
        Files.createDirectories(out);
        Path tokFile = out.resolve("tokenizer.bin");
        SyntheticVocabulary.write(tokFile);
        Tokenizer tok = Tokenizer.load(tokFile, SyntheticVocabulary.VOCAB_SIZE);
        // Words of 4 letters from a..j: the answer's source sits at a fixed distance, which a small
        // model learns to attend to quickly; shifting then needs only a new output mapping.
        SyntheticTask task = new SyntheticTask(4, 4, 10, 99);
        List<TaskKind> baseTask = List.of(TaskKind.COPY);
        List<TaskKind> newTask = List.of(TaskKind.SHIFT);
        List<SyntheticExample> baseTrain = task.generate(baseTask, 20_000, seed);
        List<SyntheticExample> newTrain = task.generate(newTask, 5_000, seed + 1);
        List<SyntheticExample> baseTest = task.generate(baseTask, evalCount, seed + 2);
        List<SyntheticExample> newTest = task.generate(newTask, evalCount, seed + 3);

        // ---- 1. base model: all weights train on copying
        Llama model = Llama.random(CONFIG, DataType.FLOAT, seed);
        train(model, model.trainableParameters(), baseTrain, tok, baseSteps, 3e-3, "base model  ");
        Path baseFile = out.resolve("base.bin");
        Llama2cFormat.writeV0(model, baseFile);
        double baseAcc = accuracy(model, tok, baseTest);
        double newBefore = accuracy(model, tok, newTest);

        // ---- 2. QLoRA: frozen NF4 base (double-quantized), rank-8 adapters on every linear
        InjectionReport report = LoraInjector.inject(model, LoraConfig.defaults(), BaseFormat.NF4, seed);
        List<Tensor> adapters = LoraAdapters.trainableParameters(model);
        train(model, adapters, newTrain, tok, finetuneSteps, 1e-2, "QLoRA shift ");

        // ---- 3. merge into the dequantized NF4 weights, export, and measure the merged model
        Path adapterDir = out.resolve("adapter");
        LoraAdapters.save(model, adapterDir);
        Llama merged = LoraAdapters.merge(model);
        Path v0 = out.resolve("merged.bin");
        Path v2 = out.resolve("merged-q8.bin");
        Path nf4 = out.resolve("merged-nf4.lb4");
        Llama2cFormat.writeV0(merged, v0);
        Llama2cFormat.writeV2(merged, v2, Llama2cFormat.defaultGroupSize(CONFIG));
        Nf4Checkpoint.write(merged, nf4, LoraInjector.NF4_BLOCK);
        Llama reloaded = Llama2cFormat.read(v0, DataType.FLOAT);
        double newAfter = accuracy(reloaded, tok, newTest);
        double baseAfter = accuracy(reloaded, tok, baseTest);
        double seconds = (System.nanoTime() - start) / 1e9;

        // ---- report
        System.out.printf("lowbit4j demo: QLoRA teaches a pre-trained model a new task (%d test examples each)%n", evalCount);
        System.out.printf("  copy,  base model                   exact match %5.1f%%%n", 100 * baseAcc);
        System.out.printf("  shift, base model (never taught)    exact match %5.1f%%%n", 100 * newBefore);
        System.out.printf("  shift, after QLoRA, merged, reloaded exact match %5.1f%%%n", 100 * newAfter);
        System.out.printf("  copy,  after QLoRA, merged, reloaded exact match %5.1f%%%n", 100 * baseAfter);
        System.out.printf("  adapters: %d layers, %d trainable parameters; frozen base %.3f bytes/weight (NF4)%n",
                report.count(), report.trainableParameters(), report.baseBytesPerParameter());
        System.out.printf("  outputs in %s: %s, %s, %s (llama2.c v0/v2), %s, %s%n", out, tokFile.getFileName(),
                v0.getFileName(), v2.getFileName(), nf4.getFileName(), adapterDir.getFileName());
        System.out.printf("  try: ./lowbit4j generate --model %s --tokenizer %s --prompt \"shift: abcd = \" --steps 24 --temperature 0%n",
                v0, tokFile);
        System.out.println(Cli.object().put("task", "shift").put("accuracy_before", newBefore).put("accuracy_after", newAfter)
                .put("base_accuracy", baseAcc).put("base_accuracy_after", baseAfter).put("seconds", seconds)
                .put("merged_v0", v0.toString()).put("merged_v2", v2.toString()).put("merged_nf4", nf4.toString())
                .put("adapter", adapterDir.toString()).put("base", baseFile.toString()).put("tokenizer", tokFile.toString()));
        return 0;
    }

    /** The training loop: lr, forward/backward, clip-step, log; batches cycle over shuffled epochs. */
    private void train(Llama model, List<Tensor> params, List<SyntheticExample> examples, Tokenizer tok,
            int steps, double lr, String name) {
        InstructionDataset data = InstructionDataset.of(examples.stream().map(e -> e.encode(tok)).toList());
        Optimizer opt = Cli.optimizer(Cli.OptimizerKind.adamw, params, lr, 0.0);
        LrSchedule schedule = new LrSchedule.WarmupCosine(lr, lr / 10, Math.min(30, steps), steps);
        Supplier<TokenBatch> batches = Cli.epochs(data, batch, seed);
        try (ProgressBar bar = Cli.progress(name, steps)) {
            for (int step = 0; step < steps; step++) {
                // lr
                opt.setLr(schedule.lr(step));
                // forward / backward
                TokenBatch b = batches.get();
                Tensor loss = model.loss(b.inputsArray(), b.targetsArray(), TokenBatch.IGNORE_INDEX);
                loss.backward();
                // clip, step
                GradClip.clipGradNorm(params, 1.0);
                opt.step();
                opt.zeroGrad();
                if (step % 10 == 9) {
                    // NOTE: ND4J frees native buffers only when their Java wrappers are collected, and a
                    // training step barely touches the Java heap: without this, resident memory grows by GBs.
                    System.gc();
                }
                // log
                bar.step();
                bar.setExtraMessage(String.format(" loss %.4f", loss.value().getDouble(0)));
            }
        }
    }

    /** Exact-match accuracy of greedy completions (run.c-style generation, stopped at the line end). */
    static double accuracy(Llama model, Tokenizer tok, List<SyntheticExample> tests) {
        Generator gen = new Generator(new InferenceSession(model), tok, Sampler.greedy(tok.vocabSize()));
        return ExactMatch.evaluate(tests, prompt -> {
            var printed = new ByteArrayOutputStream();
            try {
                gen.generate(prompt, CONFIG.maxSeqLen(), printed);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            String text = printed.toString(StandardCharsets.UTF_8);
            return text.startsWith(prompt) ? text.substring(prompt.length()) : text;
        }).accuracy();
    }
}
