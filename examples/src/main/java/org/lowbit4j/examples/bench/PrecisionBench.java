package org.lowbit4j.examples.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.mixedprec.LossScaler;
import org.lowbit4j.mixedprec.MixedPrecision;
import org.lowbit4j.mixedprec.Precision;
import org.lowbit4j.mixedprec.fp8.Fp8Recipe;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.LlamaConfig;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamWConfig;
import org.lowbit4j.optim.Optimizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Training-step time of the stories15M shape (dim 288, hidden 768, 6 layers, 6 heads, vocab 32000, separate
 * classifier; batch 8 x seq 256; AdamW) in each precision, side by side: the precisions take turns step by step
 * (round robin), so that the machine's drift hits them alike. Prints the median ms/step of each and its ratio to fp32.
 *
 * <p>Usage: {@code ./lowbit4j bench precision [--steps 6] [--warmup 2] [--batch 8] [--seq 256] [--layers 6]
 * [--precisions fp32,bf16,fp16,fp8] [--profile bf16]}; {@code --profile} adds a sampled per-op breakdown of one
 * precision's timed steps.
 */
public final class PrecisionBench {
    private PrecisionBench() {
    }

    /** One precision's model, optimizer, policy and scaler. */
    private record Run(Precision precision, Llama model, Optimizer opt, Autocast.Policy policy, LossScaler scaler,
            List<Double> ms) {
        @SuppressWarnings("try")
        double step(INDArray x, INDArray y) {
            long t0 = System.nanoTime();
            opt.zeroGrad();
            Tensor loss;
            try (var ac = Autocast.enable(policy)) {
                loss = model.loss(x, y, -1);
            }
            (scaler != null ? scaler.scale(loss) : loss).backward();
            MixedPrecision.unscaleClipStep(scaler, opt, 1.0);
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    /**
     * @param args see the class comment
     * @throws IllegalArgumentException on a bad option
     */
    public static void run(String[] args) {
        int steps = 6;
        int warmup = 2;
        int batch = 8;
        int seq = 256;
        int layers = 6;
        List<Precision> precisions = List.of(Precision.values());
        Precision profiled = null;
        for (int i = 0; i < args.length; i++) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("PrecisionBench: " + args[i] + " needs a value");
            }
            String v = args[i + 1];
            switch (args[i++]) {
                case "--steps" -> steps = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--batch" -> batch = Integer.parseInt(v);
                case "--seq" -> seq = Integer.parseInt(v);
                case "--layers" -> layers = Integer.parseInt(v);
                case "--profile" -> profiled = Precision.valueOf(v.trim().toUpperCase(Locale.ROOT));
                case "--precisions" -> precisions = Arrays.stream(v.split(","))
                        .map(p -> Precision.valueOf(p.trim().toUpperCase(Locale.ROOT))).toList();
                default -> throw new IllegalArgumentException("PrecisionBench: unknown option " + args[i - 1]
                        + "; expected --steps, --warmup, --batch, --seq, --layers, --precisions, --profile");
            }
        }
        var config = new LlamaConfig(288, 768, layers, 6, 6, 32000, seq, LlamaConfig.DEFAULT_NORM_EPS,
                LlamaConfig.DEFAULT_ROPE_THETA, false);
        var rng = new SplittableRandom(0);
        long[] ids = new long[batch * (seq + 1)];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextInt(config.vocabSize());
        }
        INDArray all = Nd4j.createFromArray(ids).reshape('c', batch, seq + 1).castTo(DataType.INT32);
        INDArray x = all.get(NDArrayIndex.all(), NDArrayIndex.interval(0, seq)).dup('c');
        INDArray y = all.get(NDArrayIndex.all(), NDArrayIndex.interval(1, seq + 1)).dup('c');

        List<Run> runs = new ArrayList<>();
        for (Precision p : precisions) {
            Llama model = Llama.random(config, DataType.FLOAT, 0);
            Optimizer opt = new AdamW(model.trainableParameters(), AdamWConfig.DEFAULTS);
            runs.add(new Run(p, model, opt, MixedPrecision.policy(p, model, Fp8Recipe.defaults()),
                    MixedPrecision.defaultScaler(p), new ArrayList<>()));
        }
        System.out.printf(Locale.ROOT, "# lowbit4j PrecisionBench: stories15M shape (%d layers), B=%d T=%d, AdamW, %d cores%n",
                layers, batch, seq, Runtime.getRuntime().availableProcessors());
        System.out.println("# fp32 GEMM: " + Gemm.backend().describe());
        System.out.println("# bf16 GEMM: " + Gemm.bf16Backend());
        OpProfiler prof = profiled != null ? new OpProfiler(Thread.currentThread(), 2) : null;
        double profiledSeconds = 0;
        for (int round = 0; round < warmup + steps; round++) {
            for (Run r : runs) {
                boolean sampled = prof != null && r.precision() == profiled && round >= warmup;
                if (prof != null) {
                    prof.enable(sampled);
                }
                double ms = r.step(x, y);
                if (prof != null) {
                    prof.enable(false);
                    profiledSeconds += sampled ? ms / 1000 : 0;
                }
                if (round >= warmup) {
                    r.ms().add(ms);
                }
                System.out.printf(Locale.ROOT, "round %d %s: %.0f ms%s%n", round, r.precision(), ms,
                        round < warmup ? " (warm-up)" : "");
                // NOTE: ND4J frees native buffers only when their wrappers are collected (see TrainBench); untimed.
                System.gc();
            }
        }
        if (prof != null) {
            prof.close();
            System.out.println();
            System.out.println("Sampled profile of " + profiled + ":");
            System.out.print(prof.report(profiledSeconds, steps));
        }
        Map<Precision, Double> median = new EnumMap<>(Precision.class);
        for (Run r : runs) {
            double[] v = r.ms().stream().mapToDouble(Double::doubleValue).sorted().toArray();
            median.put(r.precision(), v.length % 2 == 1 ? v[v.length / 2] : 0.5 * (v[v.length / 2 - 1] + v[v.length / 2]));
        }
        Double fp32 = median.get(Precision.FP32);
        System.out.println();
        System.out.println("| precision | ms/step (median) | tokens/s | vs fp32 step time |");
        System.out.println("|---|---:|---:|---:|");
        for (Run r : runs) {
            double ms = median.get(r.precision());
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %s |%n", r.precision(), ms, batch * seq / (ms / 1000),
                    fp32 == null ? "n/a" : String.format(Locale.ROOT, "%.2fx", ms / fp32));
        }
    }
}
