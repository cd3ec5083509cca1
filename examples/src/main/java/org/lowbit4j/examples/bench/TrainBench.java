package org.lowbit4j.examples.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.LlamaConfig;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamWConfig;
import org.lowbit4j.optim.Optimizer;
import org.lowbit4j.optim.Sgd;
import org.lowbit4j.optim.SgdConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Full fp32 training-step throughput of a randomly initialised stories15M-shaped Llama (dim 288,
 * hidden 768, 6 layers, 6 heads, 6 kv heads, vocab 32000, separate classifier like the PyTorch
 * peer {@code /work/shared/bench/peer_torch.py --mode full}), batch 8 x seq 256, AdamW.
 *
 * <p>Prints ms/step (median of the timed steps after warm-up), tokens/s, the forward / backward /
 * optimizer split, the process CPU time per step (all threads; steadier than wall time on a shared
 * machine), peak resident memory (VmHWM) and, with {@code --profile}, a sampled per-op breakdown.
 *
 * <p>Usage: {@code ./lowbit4j bench train [--steps N] [--warmup N] [--batch B] [--seq T]
 * [--layers L] [--dim C] [--hidden H] [--heads NH] [--vocab V] [--optimizer adamw|sgd] [--profile]}
 */
public final class TrainBench {
    private TrainBench() {
    }

    /**
     * Benchmark settings; defaults are the stories15M shape of the PyTorch peer.
     *
     * @param steps timed steps (default 6), at least 1
     * @param warmup untimed steps first (default 2)
     * @param optimizer {@code adamw} (default, as the peer) or {@code sgd}
     */
    record Settings(int steps, int warmup, int batch, int seq, int layers, int dim, int hidden, int heads, int vocab,
            String optimizer, boolean profile) {
        Settings {
            if (steps < 1 || warmup < 0 || batch < 1 || seq < 1 || layers < 1 || dim < 1 || hidden < 1 || heads < 1
                    || vocab < 2 || dim % heads != 0) {
                throw new IllegalArgumentException("TrainBench: bad settings steps=" + steps + " warmup=" + warmup
                        + " batch=" + batch + " seq=" + seq + " layers=" + layers + " dim=" + dim + " hidden=" + hidden
                        + " heads=" + heads + " (must divide dim) vocab=" + vocab);
            }
            if (!optimizer.equals("adamw") && !optimizer.equals("sgd")) {
                throw new IllegalArgumentException("TrainBench: --optimizer must be adamw or sgd, got " + optimizer);
            }
        }

        static Settings parse(String[] args) {
            int[] v = {6, 2, 8, 256, 6, 288, 768, 6, 32000};
            String[] names = {"--steps", "--warmup", "--batch", "--seq", "--layers", "--dim", "--hidden", "--heads",
                "--vocab"};
            String opt = "adamw";
            boolean profile = false;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("--profile")) {
                    profile = true;
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("TrainBench: " + a + " needs a value (or is unknown)");
                }
                if (a.equals("--optimizer")) {
                    opt = args[++i];
                    continue;
                }
                int k = Arrays.asList(names).indexOf(a);
                if (k < 0) {
                    throw new IllegalArgumentException("TrainBench: unknown option '" + a + "'; expected one of "
                            + String.join(", ", names) + ", --optimizer, --profile");
                }
                try {
                    v[k] = Integer.parseInt(args[++i]);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("TrainBench: " + a + " needs an integer, got '" + args[i] + "'");
                }
            }
            return new Settings(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], opt, profile);
        }
    }

    /**
     * Runs the benchmark and prints its figures.
     *
     * @param args see the class comment
     * @throws IllegalArgumentException on bad options
     */
    public static void run(String[] args) {
        Settings s = Settings.parse(args);
        var config = new LlamaConfig(s.dim(), s.hidden(), s.layers(), s.heads(), s.heads(), s.vocab(), s.seq(),
                LlamaConfig.DEFAULT_NORM_EPS, LlamaConfig.DEFAULT_ROPE_THETA, false);
        Llama model = Llama.random(config, DataType.FLOAT, 0);
        Optimizer opt = s.optimizer().equals("adamw")
                ? new AdamW(model.trainableParameters(), AdamWConfig.DEFAULTS)
                : new Sgd(model.trainableParameters(), new SgdConfig(1e-3, 0, 0, 0, false));
        var rng = new SplittableRandom(0);
        long[] ids = new long[s.batch() * (s.seq() + 1)];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextInt(s.vocab());
        }
        INDArray all = Nd4j.createFromArray(ids).reshape('c', s.batch(), s.seq() + 1).castTo(DataType.INT32);
        INDArray x = all.get(NDArrayIndex.all(), NDArrayIndex.interval(0, s.seq())).dup('c');
        INDArray y = all.get(NDArrayIndex.all(), NDArrayIndex.interval(1, s.seq() + 1)).dup('c');

        System.out.printf(Locale.ROOT, "# lowbit4j TrainBench: params=%d B=%d T=%d layers=%d dim=%d hidden=%d heads=%d"
                + " vocab=%d optimizer=%s, %d cores%n", model.parameterCount(), s.batch(), s.seq(), s.layers(), s.dim(),
                s.hidden(), s.heads(), s.vocab(), s.optimizer(), Runtime.getRuntime().availableProcessors());
        System.out.println("# GEMM backend: " + Gemm.backend().describe());
        int n = s.warmup() + s.steps();
        double[] total = new double[s.steps()];
        double[] fwd = new double[s.steps()];
        double[] bwd = new double[s.steps()];
        double[] upd = new double[s.steps()];
        double[] cpu = new double[s.steps()];
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean();
        double loss = Double.NaN;
        double profiledSeconds = 0;
        try (var prof = s.profile() ? new OpProfiler(Thread.currentThread(), 2) : null) {
            for (int i = 0; i < n; i++) {
                boolean timed = i >= s.warmup();
                if (prof != null) {
                    prof.enable(timed);
                }
                long c0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                opt.zeroGrad();
                Tensor l = model.loss(x, y, -1);
                long t1 = System.nanoTime();
                l.backward();
                long t2 = System.nanoTime();
                opt.step();
                long t3 = System.nanoTime();
                long c3 = os.getProcessCpuTime();
                loss = l.value().getDouble(0);
                if (timed) {
                    int j = i - s.warmup();
                    total[j] = (t3 - t0) / 1e6;
                    fwd[j] = (t1 - t0) / 1e6;
                    bwd[j] = (t2 - t1) / 1e6;
                    upd[j] = (t3 - t2) / 1e6;
                    cpu[j] = (c3 - c0) / 1e6;
                    profiledSeconds += (t3 - t0) / 1e9;
                }
                System.out.printf(Locale.ROOT, "step %d%s: %.0f ms (process CPU %.0f ms), loss %.4f%n", i,
                        timed ? "" : " (warm-up)", (t3 - t0) / 1e6, (c3 - c0) / 1e6, loss);
                // NOTE: ND4J frees native buffers only when their Java wrappers are collected, and a step
                // barely touches the Java heap: without this, a step's temporaries (the [B*T, V] logits
                // alone are 262 MB) pile up to gigabytes, and every step touches fresh pages. Untimed,
                // as in QloraBench.
                System.gc();
            }
            if (!Double.isFinite(loss)) {
                throw new IllegalStateException("TrainBench: loss is not finite: " + loss);
            }
            double ms = median(total);
            System.out.printf(Locale.ROOT, "lowbit4j B=%d T=%d: %.0f ms/step, %.0f tok/s (forward %.0f ms, backward %.0f ms,"
                    + " optimizer %.0f ms; medians), process CPU %.0f ms/step (median; all threads, user + system),"
                    + " peak RSS (VmHWM) %s, loss=%.3f%n", s.batch(), s.seq(), ms, s.batch() * s.seq() / (ms / 1000),
                    median(fwd), median(bwd), median(upd), median(cpu), vmHwm(), loss);
            if (prof != null) {
                prof.enable(false);
                System.out.println();
                System.out.print(prof.report(profiledSeconds, s.steps()));
            }
        }
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : 0.5 * (c[c.length / 2 - 1] + c[c.length / 2]);
    }

    /** @return the VmHWM line of /proc/self/status (peak resident set), or "n/a" */
    static String vmHwm() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format(Locale.ROOT, "%.0f MiB", kb / 1024.0);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return "n/a (" + e.getMessage() + ")";
        }
        return "n/a";
    }

    /**
     * Entry point.
     *
     * @param args see the class comment
     */
    public static void main(String[] args) {
        run(args);
    }
}
