package org.lowbit4j.mixedprec;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.function.Function;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.ops.LinearCrossEntropy;
import org.lowbit4j.autograd.ops.ScratchPool;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Timing of the fused classifier loss's row work at the stories15M training shape (a main, not a test): x [2048, 288],
 * w [32000, 288]. Variants run interleaved in one process, {@code reps} rounds (argument, default 5) after 2 warm-up
 * rounds, and print medians:
 * <ul>
 *   <li>fp32, rows on one thread (the code before the row loops ran on all cores) and on all cores: the forward
 *       row time (after the GEMM to the end of forward) and the backward row time (start of backward to the first
 *       product), measured inside the op;</li>
 *   <li>bf16 (BF16 GEMM route): {@code LegacyBf16Loss}, the previous {@link HalfLinearCrossEntropy} (a separate
 *       rounding pass over the logits and a separate bf16 copy of dL/dlogits, rows on one thread), and
 *       {@code TimedBf16Loss}, today's {@link HalfLinearCrossEntropy} BF16 route (its row hooks, with its own row
 *       helpers) on one thread and on all cores; row times measured the same way, the rounding pass and the copy
 *       included.</li>
 * </ul>
 * Every bf16 variant is checked, each round, to give the same bits as {@link HalfLinearCrossEntropy} itself.
 *
 * <pre>
 * mvn -o -q -DbuildDir=target-b -pl mixedprec -am test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=2 java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -Xmx4g -cp mixedprec/target-b/classes:mixedprec/target-b/test-classes:$(cat /tmp/cp.txt) \
 *   org.lowbit4j.mixedprec.ClassifierLossRowsBenchmark 9
 * </pre>
 * (cp.txt, written last by the reactor, is mixedprec's classpath with the upstream modules' target-b/classes.)
 * NOTE: on a machine shared with other busy sessions (Linux autogroup scheduling gives each session a fair share,
 * however many threads it runs) the all-cores variants cannot gain; compare on a quiet machine.
 */
public final class ClassifierLossRowsBenchmark {
    private static final int N = 2048;
    private static final int C = 288;
    private static final int V = 32_000;

    private ClassifierLossRowsBenchmark() {
    }

    /** Phase clock shared by the instrumented ops (one op runs at a time, on the main thread). */
    private static long gemmDone;
    private static long forwardDone;
    private static long backwardStart;
    private static long rowsDone;
    /** Names of the threads that ran fp32 row blocks. */
    private static final java.util.Set<String> ROW_THREADS = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** The fp32 fused loss with its row phases timed. */
    private static final class TimedLoss extends LinearCrossEntropy {
        TimedLoss(INDArray targets, boolean parallelRows) {
            super(targets, -100, parallelRows);
        }

        @Override
        protected void prepareLogitRows(INDArray logits, long fromRow, long toRow) {
            ROW_THREADS.add(Thread.currentThread().getName());
        }

        @Override
        protected void logits(INDArray x, INDArray w, INDArray out) {
            super.logits(x, w, out);
            gemmDone = System.nanoTime();
        }

        @Override
        protected INDArray forward(INDArray... in) {
            INDArray r = super.forward(in);
            forwardDone = System.nanoTime();
            return r;
        }

        @Override
        protected INDArray[] backward(INDArray g) {
            backwardStart = System.nanoTime();
            return super.backward(g);
        }

        @Override
        protected INDArray inputGradient(INDArray dLogits, INDArray w) {
            rowsDone = System.nanoTime();
            return super.inputGradient(dLogits, w);
        }
    }

    /** The BF16-GEMM route of HalfLinearCrossEntropy as it was: whole-array rounding and bf16 copy, one thread. */
    private static final class LegacyBf16Loss extends LinearCrossEntropy {
        private INDArray xr;
        private INDArray wr;
        private INDArray gr;

        LegacyBf16Loss(INDArray targets) {
            super(targets, -100, false);
        }

        @Override
        protected void logits(INDArray x, INDArray w, INDArray out) {
            xr = Bf16Linear.bf16Copy(x);
            wr = Bf16Linear.bf16Copy(w);
            Gemm.gemmBf16(xr, false, wr, true, out, 1f, 0f);
            gemmDone = System.nanoTime();
            HalfFormat.BF16.roundInPlace(out);
        }

        @Override
        protected INDArray forward(INDArray... in) {
            INDArray r = super.forward(in);
            forwardDone = System.nanoTime();
            return r;
        }

        @Override
        protected INDArray[] backward(INDArray g) {
            backwardStart = System.nanoTime();
            return super.backward(g);
        }

        private INDArray gradient(INDArray dLogits) {
            if (gr == null) {
                gr = Bf16Linear.bf16Copy(dLogits);
                rowsDone = System.nanoTime();
            }
            return gr;
        }

        @Override
        protected INDArray inputGradient(INDArray dLogits, INDArray w) {
            INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, new long[] {dLogits.size(0), wr.size(1)}, 'c');
            Gemm.gemmBf16(gradient(dLogits), false, wr, false, dx, 1f, 0f);
            HalfFormat.BF16.roundInPlace(dx);
            return dx;
        }

        @Override
        protected INDArray weightGradient(INDArray dLogits, INDArray x) {
            INDArray dw = Nd4j.createUninitialized(DataType.FLOAT, new long[] {dLogits.size(1), xr.size(1)}, 'c');
            Gemm.gemmBf16(gradient(dLogits), true, xr, false, dw, 1f, 0f);
            HalfFormat.BF16.roundInPlace(dw);
            return dw;
        }

        @Override
        protected void release() {
            super.release();
            ScratchPool.give(xr);
            ScratchPool.give(wr);
            ScratchPool.give(gr);
            xr = null;
            wr = null;
            gr = null;
        }
    }

    /** {@link HalfLinearCrossEntropy}'s BF16-GEMM route, rebuilt on its row helpers, with its row phases timed. */
    private static final class TimedBf16Loss extends LinearCrossEntropy {
        private INDArray xr;
        private INDArray wr;
        private INDArray gr;

        TimedBf16Loss(INDArray targets, boolean parallelRows) {
            super(targets, -100, parallelRows);
        }

        @Override
        protected void logits(INDArray x, INDArray w, INDArray out) {
            xr = Bf16Linear.bf16Copy(x);
            wr = Bf16Linear.bf16Copy(w);
            Gemm.gemmBf16(xr, false, wr, true, out, 1f, 0f);
            gemmDone = System.nanoTime();
        }

        @Override
        protected void prepareLogitRows(INDArray logits, long fromRow, long toRow) {
            HalfLinearCrossEntropy.roundRowsInPlace(HalfFormat.BF16, logits, fromRow, toRow);
        }

        @Override
        protected INDArray forward(INDArray... in) {
            INDArray r = super.forward(in);
            forwardDone = System.nanoTime();
            return r;
        }

        @Override
        protected INDArray[] backward(INDArray g) {
            backwardStart = System.nanoTime();
            gr = ScratchPool.take(DataType.BFLOAT16, xr.size(0), wr.size(0));
            return super.backward(g);
        }

        @Override
        protected void finishGradientRows(INDArray dLogits, long fromRow, long toRow) {
            HalfLinearCrossEntropy.encodeRowsBf16(dLogits, gr, fromRow, toRow);
        }

        @Override
        protected INDArray inputGradient(INDArray dLogits, INDArray w) {
            rowsDone = System.nanoTime();
            INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, new long[] {dLogits.size(0), wr.size(1)}, 'c');
            Gemm.gemmBf16(gr, false, wr, false, dx, 1f, 0f);
            HalfFormat.BF16.roundInPlace(dx);
            return dx;
        }

        @Override
        protected INDArray weightGradient(INDArray dLogits, INDArray x) {
            INDArray dw = Nd4j.createUninitialized(DataType.FLOAT, new long[] {dLogits.size(1), xr.size(1)}, 'c');
            Gemm.gemmBf16(gr, true, xr, false, dw, 1f, 0f);
            HalfFormat.BF16.roundInPlace(dw);
            return dw;
        }

        @Override
        protected void release() {
            super.release();
            ScratchPool.give(xr);
            ScratchPool.give(wr);
            ScratchPool.give(gr);
            xr = null;
            wr = null;
            gr = null;
        }
    }

    /** Times of one run, in ms: forward, backward, forward rows, backward rows (rows NaN when not measured). */
    private record Run(double forward, double backward, double forwardRows, double backwardRows, INDArray[] results) {
    }

    private static Run run(INDArray x, INDArray w, Function<INDArray, LinearCrossEntropy> op, INDArray targets,
            boolean timedInside) {
        Tensor xt = Tensor.parameter(x.dup());
        Tensor wt = Tensor.parameter(w.dup());
        long t0 = System.nanoTime();
        Tensor loss = op.apply(targets).apply(xt, wt);
        long t1 = System.nanoTime();
        double fRows = (forwardDone - gemmDone) / 1e6;
        loss.backward();
        long t2 = System.nanoTime();
        double bRows = (rowsDone - backwardStart) / 1e6;
        return new Run((t1 - t0) / 1e6, (t2 - t1) / 1e6, timedInside ? fRows : Double.NaN,
                timedInside ? bRows : Double.NaN, new INDArray[] {loss.value(), xt.grad(), wt.grad()});
    }

    private static int[] bits(INDArray a) {
        float[] f = a.dup('c').data().asFloat();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Float.floatToRawIntBits(f[i]);
        }
        return out;
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int warmup = 2;
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.randn(DataType.FLOAT, N, C);
        INDArray w = Nd4j.randn(DataType.FLOAT, V, C).muli(0.05);
        Random r = new Random(2);
        long[] t = new long[N];
        for (int i = 0; i < N; i++) {
            t[i] = r.nextInt(V);
        }
        INDArray targets = Nd4j.createFromArray(t);
        System.out.println("bf16 GEMM: " + Gemm.bf16Backend() + "; cores " + Runtime.getRuntime().availableProcessors());

        String[] names = {"fp32 rows on 1 thread (before)", "fp32 rows on all cores", "bf16 (real class, untimed)",
            "bf16 separate passes (before)", "bf16 row hooks, 1 thread", "bf16 row hooks, all cores"};
        @SuppressWarnings("unchecked")
        Function<INDArray, LinearCrossEntropy>[] ops = new Function[] {
            (Function<INDArray, LinearCrossEntropy>) tg -> new TimedLoss(tg, false),
            (Function<INDArray, LinearCrossEntropy>) tg -> new TimedLoss(tg, true),
            (Function<INDArray, LinearCrossEntropy>) tg -> new HalfLinearCrossEntropy(HalfFormat.BF16, true, tg, -100),
            (Function<INDArray, LinearCrossEntropy>) LegacyBf16Loss::new,
            (Function<INDArray, LinearCrossEntropy>) tg -> new TimedBf16Loss(tg, false),
            (Function<INDArray, LinearCrossEntropy>) tg -> new TimedBf16Loss(tg, true),
        };
        boolean[] timedInside = {true, true, false, true, true, true};
        int k = ops.length;
        double[][] fwd = new double[k][reps];
        double[][] bwd = new double[k][reps];
        double[][] fRows = new double[k][reps];
        double[][] bRows = new double[k][reps];
        for (int rep = 0; rep < reps + warmup; rep++) {
            INDArray[] reference = null;
            for (int v = 0; v < k; v++) {
                Run run = run(x, w, ops[v], targets, timedInside[v]);
                if (v >= 2) { // the bf16 variants agree bit for bit
                    if (reference == null) {
                        reference = run.results();
                    } else {
                        for (int i = 0; i < 3; i++) {
                            if (!Arrays.equals(bits(reference[i]), bits(run.results()[i]))) {
                                throw new AssertionError(names[v] + " differs from HalfLinearCrossEntropy in result " + i);
                            }
                        }
                    }
                }
                if (rep >= warmup) {
                    fwd[v][rep - warmup] = run.forward();
                    bwd[v][rep - warmup] = run.backward();
                    fRows[v][rep - warmup] = run.forwardRows();
                    bRows[v][rep - warmup] = run.backwardRows();
                }
            }
        }
        System.out.printf(Locale.ROOT, "medians of %d interleaved rounds, ms%n", reps);
        System.out.printf(Locale.ROOT, "%-32s %9s %9s %9s %9s %9s%n", "variant", "forward", "backward", "fwd rows",
                "bwd rows", "rows");
        double[][] rows = new double[k][reps];
        for (int v = 0; v < k; v++) {
            for (int i = 0; i < reps; i++) {
                rows[v][i] = fRows[v][i] + bRows[v][i];
            }
            System.out.printf(Locale.ROOT, "%-32s %9.1f %9.1f %9.1f %9.1f %9.1f%n", names[v], median(fwd[v]),
                    median(bwd[v]), median(fRows[v]), median(bRows[v]), median(rows[v]));
        }
        double[] fp32Ratio = new double[reps];
        double[] bf16Ratio = new double[reps];
        double[] bf16FusedOnly = new double[reps];
        for (int i = 0; i < reps; i++) {
            fp32Ratio[i] = rows[0][i] / rows[1][i];
            bf16Ratio[i] = rows[3][i] / rows[5][i];
            bf16FusedOnly[i] = rows[3][i] / rows[4][i];
            System.out.printf(Locale.ROOT, "round %d rows ms: fp32 %.1f -> %.1f, bf16 %.1f -> %.1f (1 thread %.1f)%n", i,
                    rows[0][i], rows[1][i], rows[3][i], rows[5][i], rows[4][i]);
        }
        System.out.println("fp32 row blocks ran on threads " + ROW_THREADS);
        System.out.printf(Locale.ROOT, "median per-round speed-up of the row time: fp32 %.2fx, bf16 %.2fx (hooks alone,"
                + " 1 thread: %.2fx)%n", median(fp32Ratio), median(bf16Ratio), median(bf16FusedOnly));
    }
}
