package org.lowbit4j.examples.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.lora.BaseFormat;
import org.lowbit4j.lora.InjectionReport;
import org.lowbit4j.lora.LoraAdapters;
import org.lowbit4j.lora.LoraConfig;
import org.lowbit4j.lora.LoraInjector;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.LlamaConfig;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamWConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One QLoRA training step of the stories15M shape (dim 288, hidden 768, 6 layers, 6 heads, vocab 32000,
 * seq 256, batch 8) with the frozen linears in NF4 + double quantization and r = 8 adapters on all
 * attention and MLP linears: forward, backward (input gradients through the packed weights, adapter
 * gradients only) and an AdamW step on the adapters. Reports the median ms/step after warm-up,
 * tokens/s, the frozen bytes per weight and the peak resident memory (VmHWM), then runs the PyTorch
 * LoRA peer (frozen fp32 base) in the same session for comparison.
 *
 * <p>Usage: {@code ./lowbit4j bench qlora [--steps N] [--warmup N] [--batch B] [--seq T] [--rank R]
 * [--format NF4|BF16|FP32] [--no-peer] [--peer-python PATH] [--peer-script PATH]}.
 * Defaults: 6 timed steps after 2 warm-up steps, B 8, T 256, r 8, NF4, peer
 * {@code /usr/bin/python3 /work/shared/bench/peer_torch.py --mode lora} (run after the Java measurement,
 * so the peer's memory does not count in VmHWM).
 */
public final class QloraBench {
    private QloraBench() {
    }

    /** The measured figures. */
    record Result(double msPerStep, double tokensPerSecond, long vmHwmKiB, InjectionReport report, double lastLoss) {
    }

    /**
     * @param args see the class comment
     */
    public static void main(String[] args) throws Exception {
        run(args);
    }

    /**
     * Runs the benchmark and prints the table.
     *
     * @param args see the class comment
     * @throws IllegalArgumentException for an unknown or malformed option
     */
    public static void run(String[] args) throws Exception {
        int steps = 6;
        int warmup = 2;
        int batch = 8;
        int seq = 256;
        int rank = 8;
        BaseFormat format = BaseFormat.NF4;
        boolean peer = true;
        String python = "/usr/bin/python3";
        String script = "/work/shared/bench/peer_torch.py";
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--steps" -> steps = positive(a, value(args, ++i, a));
                case "--warmup" -> warmup = nonNegative(a, value(args, ++i, a));
                case "--batch" -> batch = positive(a, value(args, ++i, a));
                case "--seq" -> seq = positive(a, value(args, ++i, a));
                case "--rank" -> rank = positive(a, value(args, ++i, a));
                case "--format" -> format = format(value(args, ++i, a));
                case "--no-peer" -> peer = false;
                case "--peer-python" -> python = value(args, ++i, a);
                case "--peer-script" -> script = value(args, ++i, a);
                default -> throw new IllegalArgumentException("unknown option '" + a + "'; see QloraBench's usage");
            }
        }
        LlamaConfig s15 = LlamaConfig.stories15M();
        if (seq > s15.maxSeqLen()) {
            throw new IllegalArgumentException("--seq " + seq + " exceeds the model's seq_len " + s15.maxSeqLen());
        }
        System.out.printf(Locale.ROOT, "QLoRA step, stories15M shape (dim %d, hidden %d, %d layers, %d heads, vocab %d),"
                + " B=%d T=%d, r=%d on all 7 linears per layer, %s frozen base, AdamW on adapters%n",
                s15.dim(), s15.hiddenDim(), s15.nLayers(), s15.nHeads(), s15.vocabSize(), batch, seq, rank, format);
        Result r = measure(s15, batch, seq, rank, format, steps, warmup);
        System.out.println("  " + r.report());
        System.out.printf(Locale.ROOT, "  lowbit4j: %.0f ms/step (median of %d after %d warm-up), %.0f tokens/s,"
                + " VmHWM %.0f MiB, loss %.3f%n", r.msPerStep(), steps, warmup, r.tokensPerSecond(),
                r.vmHwmKiB() / 1024.0, r.lastLoss());
        if (peer) {
            runPeer(python, script, batch, seq, rank);
        }
    }

    static Result measure(LlamaConfig c, int batch, int seq, int rank, BaseFormat format, int steps, int warmup) {
        Llama model = Llama.random(c, DataType.FLOAT, 1);
        InjectionReport report = LoraInjector.inject(model, LoraConfig.of(rank, 2.0 * rank), format, 2);
        var opt = new AdamW(LoraAdapters.trainableParameters(model), AdamWConfig.DEFAULTS.withWeightDecay(0));
        var rng = new SplittableRandom(3);
        int[] tok = new int[batch * (seq + 1)];
        for (int i = 0; i < tok.length; i++) {
            tok[i] = rng.nextInt(c.vocabSize());
        }
        INDArray all = Nd4j.createFromArray(tok).reshape(batch, seq + 1).castTo(DataType.INT);
        INDArray inputs = all.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, seq)).dup('c');
        INDArray targets = all.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(1, seq + 1)).dup('c');
        double[] times = new double[steps];
        double loss = Double.NaN;
        for (int i = 0; i < warmup + steps; i++) {
            long t0 = System.nanoTime();
            Tensor l = model.loss(inputs, targets, -100);
            l.backward();
            opt.step();
            opt.zeroGrad();
            loss = l.value().getDouble(0);
            long dt = System.nanoTime() - t0;
            if (i >= warmup) {
                times[i - warmup] = dt / 1e6;
            }
            // NOTE: ND4J releases native buffers only when their Java wrappers are collected; a step's
            // temporaries (logits alone are B*T*V floats) would pile up to about 2x -Xmx without this.
            // Outside the timed region.
            System.gc();
        }
        Arrays.sort(times);
        double med = steps % 2 == 1 ? times[steps / 2] : (times[steps / 2 - 1] + times[steps / 2]) / 2;
        return new Result(med, batch * (double) seq / (med / 1000), vmHwmKiB(), report, loss);
    }

    /** @return the peak resident set size of this process in KiB, or -1 if /proc is unavailable */
    static long vmHwmKiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private static void runPeer(String python, String script, int batch, int seq, int rank) throws Exception {
        if (!Files.isRegularFile(Path.of(script))) {
            System.out.println("  peer: script " + script + " not found; skipped");
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(python, script, "--mode", "lora", "--batch", "" + batch, "--seq",
                "" + seq, "--rank", "" + rank));
        System.out.println("  peer: " + String.join(" ", cmd));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (var in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                System.out.println("  peer: " + line);
            }
        }
        int rc = p.waitFor();
        if (rc != 0) {
            System.out.println("  peer exited with status " + rc);
        }
    }

    private static BaseFormat format(String v) {
        for (BaseFormat f : BaseFormat.values()) {
            if (f.name().equalsIgnoreCase(v)) {
                return f;
            }
        }
        throw new IllegalArgumentException("--format expects one of " + Arrays.toString(BaseFormat.values()) + ", got '"
                + v + "'");
    }

    private static String value(String[] args, int i, String opt) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + opt + " needs a value");
        }
        return args[i];
    }

    private static int positive(String opt, String v) {
        int n = parse(opt, v);
        if (n < 1) {
            throw new IllegalArgumentException(opt + " must be >= 1, got " + n);
        }
        return n;
    }

    private static int nonNegative(String opt, String v) {
        int n = parse(opt, v);
        if (n < 0) {
            throw new IllegalArgumentException(opt + " must be >= 0, got " + n);
        }
        return n;
    }

    private static int parse(String opt, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + " expects an integer, got '" + v + "'", e);
        }
    }
}
