package org.lowbit4j.examples.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Function;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamW4bit;
import org.lowbit4j.optim.AdamW8bit;
import org.lowbit4j.optim.AdamWConfig;
import org.lowbit4j.optim.GradClip;
import org.lowbit4j.optim.Optimizer;
import org.lowbit4j.optim.QuantConfig;
import org.lowbit4j.optim.UpdateOptions;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Optimizer step throughput (parameters per second) and state memory of fp32 AdamW, AdamW8bit and AdamW4bit
 * on the stories15M parameter shapes (token embedding [32000, 288]; per layer, of 6: wq/wk/wv/wo [288, 288],
 * w1/w3 [768, 288], w2 [288, 768], two norms [288]; final norm [288]: 15.19M parameters).
 *
 * <p>Usage: {@code ./lowbit4j bench optim [--threads 1,2] [--reps 7] [--steps 3] [--clip true]}. For each
 * thread count, each optimizer runs {@code reps} timed rounds of {@code steps} steps after warm-up, the
 * optimizers interleaved round by round so that a drifting machine speed hits them alike; the table shows the
 * median round. Gradients are fixed random arrays (the step's cost does not depend on their values). With
 * {@code --clip true}, a second table times {@link GradClip#clipGradNorm} on the same gradients (global norm
 * plus scaling by 1/2 each call), {@code reps} calls per thread count after warm-up.
 */
public final class OptimBench {
    private OptimBench() {
    }

    /** @param args see the class comment */
    public static void main(String[] args) {
        run(args);
    }

    /** The stories15M parameter list, random N(0, 0.02) values and N(0, 1e-3) gradients. */
    public static List<Tensor> stories15M(long seed) {
        List<long[]> shapes = new ArrayList<>();
        shapes.add(new long[] {32000, 288});
        for (int l = 0; l < 6; l++) {
            shapes.add(new long[] {288});
            for (int k = 0; k < 4; k++) {
                shapes.add(new long[] {288, 288});
            }
            shapes.add(new long[] {288});
            shapes.add(new long[] {768, 288});
            shapes.add(new long[] {288, 768});
            shapes.add(new long[] {768, 288});
        }
        shapes.add(new long[] {288});
        Nd4j.getRandom().setSeed(seed);
        List<Tensor> ps = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) {
            INDArray v = Nd4j.randn(DataType.FLOAT, shapes.get(i)).muli(0.02);
            Tensor t = Tensor.parameter(v).named("p" + i);
            t.setGrad(Nd4j.randn(DataType.FLOAT, shapes.get(i)).muli(1e-3));
            ps.add(t);
        }
        return ps;
    }

    /**
     * Runs the benchmark and prints a Markdown table.
     *
     * @param args {@code --threads LIST}, {@code --reps N}, {@code --steps N}, {@code --clip true|false}
     * @throws IllegalArgumentException on an unknown or malformed option
     */
    public static void run(String[] args) {
        int cores = Runtime.getRuntime().availableProcessors();
        int[] threads = cores > 1 ? new int[] {1, cores} : new int[] {1};
        int reps = 7;
        int steps = 3;
        boolean clip = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--threads" -> threads = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                case "--reps" -> reps = Integer.parseInt(v);
                case "--steps" -> steps = Integer.parseInt(v);
                case "--clip" -> clip = parseBoolean(v);
                default -> throw new IllegalArgumentException("unknown option " + a
                        + "; expected --threads LIST, --reps N, --steps N, --clip true|false");
            }
        }
        if (reps < 1 || steps < 1) {
            throw new IllegalArgumentException("--reps and --steps must be >= 1");
        }
        List<Tensor> ps = stories15M(1);
        long params = ps.stream().mapToLong(p -> p.value().length()).sum();
        String[] names = {"AdamW (fp32 state)", "AdamW8bit", "AdamW4bit"};
        System.out.printf(Locale.ROOT, "stories15M shape: %,d parameters in %d tensors; %d cores; %d reps x %d steps%n%n",
                params, ps.size(), cores, reps, steps);
        System.out.println("| optimizer | threads | ms/step (median wall) | Mparams/s | x fp32 time "
                + "| CPU ms/step (1 thread) | x fp32 CPU | state bytes/param |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int t : threads) {
            UpdateOptions opts = UpdateOptions.DEFAULTS.withThreads(t);
            AdamWConfig cfg = AdamWConfig.DEFAULTS.withLr(1e-4);
            List<Function<List<Tensor>, Optimizer>> makers = List.of(
                    p -> new AdamW(p, cfg, opts),
                    p -> new AdamW8bit(p, cfg, QuantConfig.DEFAULTS, opts),
                    p -> new AdamW4bit(p, cfg, QuantConfig.DEFAULTS, opts));
            Optimizer[] opt = new Optimizer[3];
            for (int k = 0; k < 3; k++) {
                opt[k] = makers.get(k).apply(ps);
                for (int w = 0; w < 3; w++) {
                    opt[k].step();
                }
            }
            double[][] ms = new double[3][reps];
            double[][] cpu = new double[3][reps];
            for (int r = 0; r < reps; r++) {
                for (int k = 0; k < 3; k++) {
                    long c0 = mx.getCurrentThreadCpuTime();
                    long t0 = System.nanoTime();
                    for (int s = 0; s < steps; s++) {
                        opt[k].step();
                    }
                    ms[k][r] = (System.nanoTime() - t0) / 1e6 / steps;
                    cpu[k][r] = (mx.getCurrentThreadCpuTime() - c0) / 1e6 / steps;
                }
            }
            double base = median(ms[0]);
            double cpuBase = median(cpu[0]);
            for (int k = 0; k < 3; k++) {
                double m = median(ms[k]);
                double c = median(cpu[k]);
                // NOTE: CPU time of the calling thread is only the whole cost with one thread; on a shared,
                // oversubscribed machine it is the steadier figure (descheduled time is not counted).
                String cpuCells = t == 1 ? String.format(Locale.ROOT, "%.1f | %.2f", c, c / cpuBase) : "- | -";
                System.out.printf(Locale.ROOT, "| %s | %d | %.1f | %.0f | %.2f | %s | %.3f |%n", names[k], t, m,
                        params / m / 1e3, m / base, cpuCells, (double) opt[k].stateBytes() / params);
            }
        }
        if (clip) {
            clipTable(ps, threads, reps);
        }
    }

    private static boolean parseBoolean(String v) {
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("--clip takes true or false, got " + v);
        };
    }

    /**
     * Times {@code GradClip.clipGradNorm} with a bound of half the current norm, so that every call both sums
     * and scales (the gradients halve each call: after all thread counts 2^-(threads * (reps + 2)) of their start,
     * far from subnormal for the usual settings).
     */
    private static void clipTable(List<Tensor> ps, int[] threads, int reps) {
        System.out.println();
        System.out.println("| GradClip.clipGradNorm (norm + scaling) | threads | ms/call (median wall) | CPU ms/call (calling thread) |");
        System.out.println("|---|---:|---:|---:|");
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        double norm = GradClip.globalNorm(ps);
        for (int t : threads) {
            for (int w = 0; w < 2; w++) {
                GradClip.clipGradNorm(ps, norm / 2, t);
                norm /= 2;
            }
            double[] ms = new double[reps];
            double[] cpu = new double[reps];
            for (int r = 0; r < reps; r++) {
                long c0 = mx.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                GradClip.clipGradNorm(ps, norm / 2, t);
                ms[r] = (System.nanoTime() - t0) / 1e6;
                cpu[r] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
                norm /= 2;
            }
            System.out.printf(Locale.ROOT, "| clipGradNorm | %d | %.2f | %.2f |%n", t, median(ms), median(cpu));
        }
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
