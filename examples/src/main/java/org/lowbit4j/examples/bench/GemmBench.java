package org.lowbit4j.examples.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.lowbit4j.autograd.blas.BlasBackend;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.blas.BlasBackends;
import org.lowbit4j.autograd.blas.SgemmBackends;
import org.lowbit4j.autograd.formats.Bf16Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * fp32 GEMM throughput, GFLOP/s, of every path side by side: ND4J's {@code INDArray.mmul} (what
 * plain ND4J code writes), {@code Nd4j.gemm}, and the lowbit4j {@link Gemm} facade: as one call on
 * the active CBLAS library's own threads ("1 call", the path before products were split over the
 * cores), split over the cores on each CBLAS library, and split over the cores on oneDNN's
 * {@code dnnl_sgemm} where oneDNN is installed. The column marked {@code *} is what {@link Gemm}
 * does by default, and the ratios use it; the last column says how it ran each product
 * ({@link Gemm#plan}). Shapes: 512³, 1024³, 2048³ and the stories15M training GEMMs
 * (B*T = 2048 tokens, dim 288, hidden 768, vocab 32000, 6 heads of 48, seq 256).
 *
 * <p>Usage: {@code ./lowbit4j bench gemm [--budget SECONDS] [--only SUBSTRING] [--no-mmul]
 * [--peer "python3 examples/scripts/numpy_gemm.py"]}. Each cell is the median of several timed
 * runs (about {@code budget} seconds, at least 3 rounds) after warm-up, the paths interleaved round
 * by round so that the machine's drifting speed hits them alike; the paths on OpenBLAS's own threads
 * run last in each round and are followed by a pause, because their idle threads spin for about
 * 0.1 s and would take a core from the next path ({@link #LIBRARY_SPIN_PAUSE_MS}). With
 * {@code --peer}, that command is run for each shape between two halves of the Java measurement (with
 * {@code --index I --budget S --quiet} appended; it must print one GFLOP/s figure), giving a same-minute peer column and the
 * ratio Gemm / peer. {@code --explain} instead times the pieces of ND4J's {@code mmul} path
 * (order-converting copies around the BLAS call) to show where its time goes.
 *
 * <p>{@code --bf16 [--threads 1,2]} instead compares, shape by shape, the fp32 {@link Gemm#gemm}
 * (active CBLAS), oneDNN's {@code dnnl_sgemm} and the bf16 {@link Gemm#gemmBf16} (oneDNN
 * {@code dnnl_gemm_bf16bf16f32} at each OpenMP thread count: "oneDNN" takes oneDNN's matmul primitive
 * where it suits and "dnnl_gemm" never does, and the widening fallback), plus the
 * cost of rounding both fp32 operands to bf16 ({@link Bf16Arrays#toBf16}) in milliseconds, which a
 * training step pays once per operand; "bf16 + conv" is the best bf16 figure with that cost added.
 */
public final class GemmBench {
    private GemmBench() {
    }

    /**
     * One benchmark shape: C[M, N] = op(A) op(B) with K the inner size, batch > 1 for a batched product.
     *
     * @param name label in the table
     */
    record Shape(String name, int m, int n, int k, boolean ta, boolean tb, int batch) {
        Shape {
            if (m < 1 || n < 1 || k < 1 || batch < 1) {
                throw new IllegalArgumentException("shape sizes must be >= 1: " + m + "x" + n + "x" + k + " batch " + batch);
            }
        }

        double flops() {
            return 2.0 * m * n * k * batch;
        }
    }

    /** The shapes measured, square sizes first, then the stories15M training step's products. */
    static List<Shape> shapes() {
        int bt = 2048;
        int d = 288;
        int h = 768;
        int v = 32000;
        return List.of(
                new Shape("512^3", 512, 512, 512, false, false, 1),
                new Shape("1024^3", 1024, 1024, 1024, false, false, 1),
                new Shape("2048^3", 2048, 2048, 2048, false, false, 1),
                new Shape("q/k/v/o fwd x·Wᵀ [2048,288]x[288,288]ᵀ", bt, d, d, false, true, 1),
                new Shape("w1/w3 fwd x·Wᵀ [2048,288]x[768,288]ᵀ", bt, h, d, false, true, 1),
                new Shape("w2 fwd x·Wᵀ [2048,768]x[288,768]ᵀ", bt, d, h, false, true, 1),
                new Shape("cls fwd x·Wᵀ [2048,288]x[32000,288]ᵀ", bt, v, d, false, true, 1),
                new Shape("q/k/v/o dX g·W [2048,288]x[288,288]", bt, d, d, false, false, 1),
                new Shape("w1/w3 dX g·W [2048,768]x[768,288]", bt, d, h, false, false, 1),
                new Shape("w2 dX g·W [2048,288]x[288,768]", bt, h, d, false, false, 1),
                new Shape("cls dX g·W [2048,32000]x[32000,288]", bt, d, v, false, false, 1),
                new Shape("q/k/v/o dW gᵀ·x [2048,288]ᵀx[2048,288]", d, d, bt, true, false, 1),
                new Shape("w1/w3 dW gᵀ·x [2048,768]ᵀx[2048,288]", h, d, bt, true, false, 1),
                new Shape("w2 dW gᵀ·x [2048,288]ᵀx[2048,768]", d, h, bt, true, false, 1),
                new Shape("cls dW gᵀ·x [2048,32000]ᵀx[2048,288]", v, d, bt, true, false, 1),
                new Shape("attn scores Q·Kᵀ 48x[256,48]x[256,48]ᵀ", 256, 256, 48, false, true, 48),
                new Shape("attn out P·V 48x[256,256]x[256,48]", 256, 48, 256, false, false, 48));
    }

    /** A timed operation. */
    @FunctionalInterface
    interface Op {
        void run();
    }

    /**
     * Runs the benchmark and prints a Markdown table.
     *
     * @param args {@code --budget SECONDS} (default 1.5), {@code --only SUBSTRING}, {@code --no-mmul},
     *     {@code --bf16}, {@code --threads N,M} (OpenMP threads for oneDNN, default 1,2)
     * @throws IllegalArgumentException on an unknown option
     */
    public static void run(String[] args) {
        double budget = 1.5;
        String only = null;
        boolean mmul = true;
        List<String> peer = null;
        boolean bf16 = false;
        int[] threads = {1, 2};
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bf16" -> bf16 = true;
                case "--threads" -> threads = java.util.Arrays.stream(value(args, ++i, "--threads").split(","))
                        .mapToInt(t -> Integer.parseInt(t.strip())).toArray();
                case "--peer" -> peer = List.of(value(args, ++i, "--peer").trim().split("\\s+"));
                case "--budget" -> budget = Double.parseDouble(value(args, ++i, "--budget"));
                case "--only" -> only = value(args, ++i, "--only");
                case "--no-mmul" -> mmul = false;
                case "--explain" -> {
                    explain(budget);
                    return;
                }
                default -> throw new IllegalArgumentException("GemmBench: unknown option '" + args[i]
                        + "'; expected --budget SECONDS, --only SUBSTRING, --no-mmul, --peer COMMAND, --explain, --bf16,"
                        + " --threads N,M");
            }
        }
        if (bf16) {
            bf16(budget, only, threads);
            return;
        }
        BlasBackend active = Gemm.backend();
        List<BlasBackend> cblas = BlasBackends.cblasLibraries();
        String defaultRoute = System.getProperty(SgemmBackends.PROPERTY);
        boolean defaultOneDnn = Gemm.sgemmBackend().startsWith("oneDNN");
        boolean defaultSplit = Gemm.coreSplitOn();
        boolean oneDnn = Gemm.useSgemmBackend("auto").startsWith("oneDNN");
        Gemm.useSgemmBackend(defaultRoute);
        System.out.printf(Locale.ROOT, "# lowbit4j GemmBench, fp32, %d cores, ND4J %s threads%n",
                Runtime.getRuntime().availableProcessors(),
                Nd4j.getExecutioner().getEnvironmentInformation().get("omp.threads"));
        System.out.println("# active Gemm backend: " + active.describe());
        System.out.println("# large fp32 products: " + Gemm.sgemmBackend());
        System.out.println("# split over the cores: "
                + (defaultSplit ? "on" : "off (" + Gemm.SPLIT_PROPERTY + "=false)"));
        for (BlasBackend b : cblas) {
            System.out.println("# available: " + b.describe());
        }
        // one column per path: its label and how to set Gemm up for it (null for the ND4J columns)
        List<String> cols = new ArrayList<>();
        List<Runnable> setups = new ArrayList<>();
        List<Boolean> wakes = new ArrayList<>(); // whether the column runs on OpenBLAS's own threads
        if (mmul) {
            cols.add("ND4J mmul");
            setups.add(null);
            wakes.add(true);
        }
        cols.add("Nd4j.gemm");
        setups.add(null);
        wakes.add(true);
        int defaultCol = -1;
        boolean cblasActive = active instanceof org.lowbit4j.autograd.blas.CblasLibrary;
        if (cblasActive) {
            if (!defaultSplit && !defaultOneDnn) {
                defaultCol = cols.size();
            }
            cols.add("Gemm[" + active.kind() + "] 1 call");
            setups.add(() -> setUp(active, "blas", false));
            wakes.add(true);
        }
        for (BlasBackend b : cblas) {
            if (b == active && defaultSplit && !defaultOneDnn) {
                defaultCol = cols.size();
            }
            cols.add("Gemm[" + b.kind() + "]");
            setups.add(() -> setUp(b, "blas", true));
            wakes.add(false);
        }
        if (oneDnn && cblasActive) {
            if (defaultOneDnn) {
                defaultCol = cols.size();
            }
            cols.add("Gemm[oneDNN]");
            setups.add(() -> setUp(active, "auto", defaultSplit));
            wakes.add(!defaultSplit);
        }
        if (defaultCol < 0) { // Nd4jBlas active, or a default this table has no column for
            defaultCol = mmul ? 1 : 0;
        }
        cols.set(defaultCol, cols.get(defaultCol) + " *");
        System.out.println();
        if (peer != null) {
            cols.add("peer");
        }
        System.out.println("| shape (M×N×K) | " + String.join(" | ", cols) + " | Gemm / ND4J mmul |"
                + (peer != null ? " Gemm / peer |" : "") + " default plan |");
        System.out.println("|---|" + "---:|".repeat(cols.size() + 1 + (peer != null ? 1 : 0)) + "---|");
        System.out.println("(GFLOP/s, median; * = Gemm's default path, used for the ratios; batched rows: ND4J columns"
                + " use Nd4j.matmul on rank-3 arrays, and every Gemm column runs the entries side by side)");
        Nd4j.getRandom().setSeed(1);
        List<Shape> shapes = shapes();
        boolean warmedUp = false;
        for (int si = 0; si < shapes.size(); si++) {
            Shape s = shapes.get(si);
            if (only != null && !s.name().contains(only)) {
                continue;
            }
            INDArray a = s.batch() == 1 ? Nd4j.rand(DataType.FLOAT, s.ta() ? s.k() : s.m(), s.ta() ? s.m() : s.k())
                    : Nd4j.rand(DataType.FLOAT, s.batch(), s.ta() ? s.k() : s.m(), s.ta() ? s.m() : s.k());
            INDArray b = s.batch() == 1 ? Nd4j.rand(DataType.FLOAT, s.tb() ? s.n() : s.k(), s.tb() ? s.k() : s.n())
                    : Nd4j.rand(DataType.FLOAT, s.batch(), s.tb() ? s.n() : s.k(), s.tb() ? s.k() : s.n());
            INDArray c = s.batch() == 1 ? Nd4j.create(DataType.FLOAT, s.m(), s.n())
                    : Nd4j.create(DataType.FLOAT, s.batch(), s.m(), s.n());
            // rank-3 mmul is not defined in ND4J: for batches both ND4J columns use Nd4j.matmul
            INDArray a3 = s.ta() && s.batch() > 1 ? a.permute(0, 2, 1) : a;
            INDArray b3 = s.tb() && s.batch() > 1 ? b.permute(0, 2, 1) : b;
            List<Op> ops = new ArrayList<>();
            if (mmul) {
                INDArray av = s.ta() ? a.transpose() : a;
                INDArray bv = s.tb() ? b.transpose() : b;
                ops.add(s.batch() == 1 ? () -> av.mmul(bv) : () -> Nd4j.matmul(a3, b3));
            }
            ops.add(s.batch() == 1 ? () -> Nd4j.gemm(a, b, c, s.ta(), s.tb(), 1.0, 0.0)
                    : () -> Nd4j.matmul(a3, b3, c, false, false, false));
            Op g = s.batch() == 1 ? () -> Gemm.gemm(a, s.ta(), b, s.tb(), c, 1.0, 0.0)
                    : () -> Gemm.gemmBatched(a, s.ta(), b, s.tb(), c, 1.0, 0.0);
            for (Runnable setup : setups.subList(ops.size(), setups.size())) {
                ops.add(() -> {
                    setup.run();
                    g.run();
                });
            }
            boolean[] wakesThreads = new boolean[ops.size()];
            int nd4jCols = mmul ? 2 : 1;
            for (int i = 0; i < wakesThreads.length; i++) {
                // Gemm runs a batch's entries side by side with OpenBLAS held at one thread, in every column
                wakesThreads[i] = wakes.get(i) && (s.batch() == 1 || i < nd4jCols);
            }
            if (!warmedUp) {
                // NOTE: the first shape measured would otherwise share the cores with the JIT compiler's threads
                // (still compiling the Gemm paths of every column): it ran 250 GFLOP/s at 512³ in its first
                // second and 300 after, on the same default path. One discarded pass warms every column.
                gflops(ops, wakesThreads, s.flops(), budget / 2);
                warmedUp = true;
            }
            double[] gf = gflops(ops, wakesThreads, s.flops(), budget / 2);
            double peerGflops = Double.NaN;
            if (peer != null) {
                peerGflops = runPeer(peer, si, budget); // gflops ended with a pause: no spinning threads here
                double[] again = gflops(ops, wakesThreads, s.flops(), budget / 2);
                for (int i = 0; i < gf.length; i++) {
                    gf[i] = 0.5 * (gf[i] + again[i]);
                }
            }
            setUp(active, defaultRoute, defaultSplit);
            double best = gf[defaultCol];
            StringBuilder line = new StringBuilder("| " + s.name() + " | ");
            for (double v : gf) {
                line.append(String.format(Locale.ROOT, "%.1f | ", v));
            }
            if (peer != null) {
                line.append(String.format(Locale.ROOT, "%.1f | ", peerGflops));
            }
            line.append(mmul ? String.format(Locale.ROOT, "%.2f× |", best / gf[0]) : "– |");
            if (peer != null) {
                line.append(String.format(Locale.ROOT, " %.2f× |", best / peerGflops));
            }
            line.append(' ').append(s.batch() == 1 ? Gemm.plan(s.m(), s.n(), s.k(), s.ta(), s.tb(), DataType.FLOAT)
                    : s.batch() + " entries side by side, 1 thread each").append(" |");
            System.out.println(line);
        }
    }

    /** Sets Gemm up for one column: CBLAS library, large-fp32 route, split over the cores on or off. */
    private static void setUp(BlasBackend cblas, String sgemmRoute, boolean split) {
        Gemm.useBackend(cblas);
        Gemm.useSgemmBackend(sgemmRoute);
        Gemm.useCoreSplit(split);
    }

    /**
     * Times several operations interleaved (one run of each per round), so that the machine's
     * drifting speed affects all of them alike; about {@code budgetSeconds} per operation.
     *
     * @return the median GFLOP/s of each operation, in order
     */
    /**
     * After a call on OpenBLAS's own threads its idle threads spin (busy-wait) for about 0.1 s before they
     * sleep (measured here: 90-110 ms of CPU while the JVM slept), stealing a core from whatever runs next.
     * {@link #gflops(List, boolean[], double, double)} waits this long after such calls.
     */
    static final long LIBRARY_SPIN_PAUSE_MS = 200;

    /**
     * Like {@link #gflops(List, double, double)}, for paths that differ in how they use the cores: in each
     * round every operation runs as a block of back-to-back runs (at least about 20 ms, each run timed), those
     * that wake OpenBLAS's own threads last, then the round pauses {@link #LIBRARY_SPIN_PAUSE_MS} so that
     * their spinning threads never run beside the next round's single-threaded bands (or the peer).
     *
     * @param wakesLibraryThreads per operation: whether it runs on OpenBLAS's own threads
     * @return the median GFLOP/s of each operation, in order
     */
    static double[] gflops(List<Op> ops, boolean[] wakesLibraryThreads, double flops, double budgetSeconds) {
        int n = ops.size();
        double[] first = new double[n];
        boolean anyWakes = false;
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            ops.get(i).run();
            first[i] = Math.max((System.nanoTime() - t0) / 1e9, 1e-6);
            if (first[i] < 0.5) {
                ops.get(i).run();
            }
            anyWakes |= wakesLibraryThreads[i];
        }
        int[] reps = new int[n];
        double roundSeconds = anyWakes ? LIBRARY_SPIN_PAUSE_MS / 1e3 : 0;
        for (int i = 0; i < n; i++) {
            reps[i] = (int) Math.max(1, Math.ceil(0.02 / first[i]));
            roundSeconds += reps[i] * first[i];
        }
        int rounds = (int) Math.max(3, Math.min(50, Math.round(budgetSeconds * n / roundSeconds)));
        List<List<Double>> t = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            t.add(new ArrayList<>());
        }
        pause(anyWakes);
        for (int r = 0; r < rounds; r++) {
            for (boolean wakes : new boolean[] {false, true}) {
                for (int i = 0; i < n; i++) {
                    if (wakesLibraryThreads[i] != wakes) {
                        continue;
                    }
                    for (int j = 0; j < reps[i]; j++) {
                        long s = System.nanoTime();
                        ops.get(i).run();
                        t.get(i).add((System.nanoTime() - s) / 1e9);
                    }
                }
            }
            pause(anyWakes);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double[] v = t.get(i).stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double median = v.length % 2 == 1 ? v[v.length / 2] : 0.5 * (v[v.length / 2 - 1] + v[v.length / 2]);
            out[i] = flops / median / 1e9;
        }
        return out;
    }

    /** Sleeps {@link #LIBRARY_SPIN_PAUSE_MS} if asked, so that OpenBLAS's idle threads stop spinning. */
    private static void pause(boolean needed) {
        if (!needed) {
            return;
        }
        try {
            Thread.sleep(LIBRARY_SPIN_PAUSE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static double[] gflops(List<Op> ops, double flops, double budgetSeconds) {
        int n = ops.size();
        double firstSum = 0;
        for (Op op : ops) {
            long t0 = System.nanoTime();
            op.run();
            double first = (System.nanoTime() - t0) / 1e9;
            firstSum += first;
            if (first < 0.5) {
                op.run();
            }
        }
        int rounds = (int) Math.max(3, Math.min(50, Math.round(budgetSeconds * n / Math.max(firstSum, 1e-6))));
        double[][] t = new double[n][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < n; i++) {
                long s = System.nanoTime();
                ops.get(i).run();
                t[i][r] = (System.nanoTime() - s) / 1e9;
            }
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            Arrays.sort(t[i]);
            double median = rounds % 2 == 1 ? t[i][rounds / 2] : 0.5 * (t[i][rounds / 2 - 1] + t[i][rounds / 2]);
            out[i] = flops / median / 1e9;
        }
        return out;
    }

    /**
     * Where {@code INDArray.mmul} spends its time for C-ordered operands: it computes into a new
     * F-ordered buffer ({@code mmuli} into an F-ordered result), then copies that into the C-ordered
     * result with a transposing {@code assign}. Times each piece next to the whole call and the
     * zero-copy products.
     */
    static void explain(double budget) {
        System.out.println("| M×N×K | x.mmul(y) | x.mmuli(y, fOrderC) | c.assign(fOrderC) | Nd4j.gemm | Gemm |");
        System.out.println("|---|---:|---:|---:|---:|---:|");
        System.out.println("(milliseconds, medians, interleaved)");
        for (int[] d : new int[][] {{2048, 2048, 2048}, {2048, 32000, 288}, {2048, 768, 288}}) {
            INDArray x = Nd4j.rand(DataType.FLOAT, d[0], d[2]);
            INDArray y = Nd4j.rand(DataType.FLOAT, d[2], d[1]);
            INDArray c = Nd4j.create(DataType.FLOAT, d[0], d[1]);
            INDArray cf = Nd4j.create(DataType.FLOAT, new long[] {d[0], d[1]}, 'f');
            cf.assign(1);
            List<Op> ops = List.of(() -> x.mmul(y), () -> x.mmuli(y, cf), () -> c.assign(cf),
                    () -> Nd4j.gemm(x, y, c, false, false, 1.0, 0.0),
                    () -> Gemm.gemm(x, false, y, false, c, 1.0, 0.0));
            double[] g = gflops(ops, 1e6, budget); // 1e6 "flops" per op: 1 / g is milliseconds
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "| %d×%d×%d | ", d[0], d[1], d[2]));
            for (double v : g) {
                line.append(String.format(Locale.ROOT, "%.1f | ", 1.0 / v));
            }
            System.out.println(line);
        }
    }

    /**
     * fp32 vs bf16 products, shape by shape (see the class comment). Operands are random fp32
     * values rounded once to bf16 outside the timing; C is FLOAT.
     *
     * @param threads the OpenMP thread counts to time oneDNN's bf16 GEMM with
     */
    static void bf16(double budget, String only, int[] threads) {
        BlasBackend active = Gemm.backend();
        String auto = Gemm.bf16Backend();
        boolean oneDnn = auto.startsWith("oneDNN") || Gemm.useBf16Backend("onednn", 0).startsWith("oneDNN");
        System.out.printf(Locale.ROOT, "# lowbit4j GemmBench --bf16, %d cores, OMP_NUM_THREADS=%s%n",
                Runtime.getRuntime().availableProcessors(), System.getenv("OMP_NUM_THREADS"));
        System.out.println("# fp32 Gemm backend: " + active.describe());
        System.out.println("# bf16 Gemm backend (auto): " + auto);
        List<String> cols = new ArrayList<>(List.of("fp32 Gemm"));
        if (oneDnn) {
            cols.add("fp32 dnnl_sgemm");
            for (int t : threads) {
                cols.add("bf16 oneDNN " + t + "T");
                cols.add("bf16 dnnl_gemm " + t + "T");
            }
        } else {
            System.out.println("# oneDNN not available: only the fallback is timed");
        }
        cols.add("bf16 fallback");
        System.out.println();
        System.out.println("| shape (M×N×K) | " + String.join(" | ", cols)
                + " | toBf16 A+B (ms) | best bf16 + conv | best bf16 / fp32 Gemm |");
        System.out.println("|---|" + "---:|".repeat(cols.size() + 3));
        System.out.println("(GFLOP/s, medians, interleaved; \"+ conv\" adds rounding both operands to bf16)");
        Nd4j.getRandom().setSeed(1);
        // JIT warm-up of the Vector API conversion kernels, so the first row's conversion is compiled code
        INDArray warm = Nd4j.rand(DataType.FLOAT, 1024, 1024);
        INDArray warmBf16 = Bf16Arrays.toBf16(warm);
        for (int i = 0; i < 50; i++) {
            Bf16Arrays.toBf16(warm, warmBf16);
        }
        for (Shape s : shapes()) {
            if ((only != null && !s.name().contains(only)) || s.name().startsWith("2048^3")) {
                continue;
            }
            boolean batched = s.batch() > 1;
            long[] sa = batched ? new long[] {s.batch(), s.ta() ? s.k() : s.m(), s.ta() ? s.m() : s.k()}
                    : new long[] {s.ta() ? s.k() : s.m(), s.ta() ? s.m() : s.k()};
            long[] sb = batched ? new long[] {s.batch(), s.tb() ? s.n() : s.k(), s.tb() ? s.k() : s.n()}
                    : new long[] {s.tb() ? s.n() : s.k(), s.tb() ? s.k() : s.n()};
            INDArray a = Nd4j.rand(DataType.FLOAT, sa).subi(0.5);
            INDArray b = Nd4j.rand(DataType.FLOAT, sb).subi(0.5);
            INDArray c = batched ? Nd4j.create(DataType.FLOAT, s.batch(), s.m(), s.n())
                    : Nd4j.create(DataType.FLOAT, s.m(), s.n());
            INDArray ab = Bf16Arrays.toBf16(a);
            INDArray bb = Bf16Arrays.toBf16(b);
            List<Op> ops = new ArrayList<>();
            ops.add(batched ? () -> Gemm.gemmBatched(a, s.ta(), b, s.tb(), c, 1.0, 0.0)
                    : () -> Gemm.gemm(a, s.ta(), b, s.tb(), c, 1.0, 0.0));
            if (oneDnn) {
                // dnnl_sgemm has no batched entry point here: batched rows loop over the batch
                ops.add(batched ? () -> {
                    for (int i = 0; i < s.batch(); i++) {
                        Gemm.gemmOneDnn(slice(a, i), s.ta(), slice(b, i), s.tb(), slice(c, i), 1f, 0f);
                    }
                } : () -> Gemm.gemmOneDnn(a, s.ta(), b, s.tb(), c, 1f, 0f));
                for (int t : threads) {
                    ops.add(bf16Op(s, ab, bb, c, "onednn", t));      // matmul primitive where it suits
                    ops.add(bf16Op(s, ab, bb, c, "onednn-gemm", t)); // always dnnl_gemm_bf16bf16f32
                }
            }
            ops.add(bf16Op(s, ab, bb, c, "fallback", 0));
            ops.add(() -> {
                Bf16Arrays.toBf16(a, ab);
                Bf16Arrays.toBf16(b, bb);
            });
            double[] gf = gflops(ops, s.flops(), budget / 2);
            int conv = gf.length - 1;
            double convSeconds = s.flops() / gf[conv] / 1e9;
            double bestBf16 = 0;
            for (int i = oneDnn ? 2 : 1; i < conv; i++) {
                bestBf16 = Math.max(bestBf16, gf[i]);
            }
            double withConv = s.flops() / (s.flops() / bestBf16 / 1e9 + convSeconds) / 1e9;
            StringBuilder line = new StringBuilder("| " + s.name() + " | ");
            for (int i = 0; i < conv; i++) {
                line.append(String.format(Locale.ROOT, "%.1f | ", gf[i]));
            }
            line.append(String.format(Locale.ROOT, "%.2f | %.1f | %.2f× |", convSeconds * 1e3, withConv,
                    bestBf16 / gf[0]));
            System.out.println(line);
        }
        Gemm.useBf16Backend("auto", 0);
    }

    private static Op bf16Op(Shape s, INDArray ab, INDArray bb, INDArray c, String route, int threads) {
        Op g = s.batch() > 1 ? () -> Gemm.gemmBatchedBf16(ab, s.ta(), bb, s.tb(), c, 1f, 0f)
                : () -> Gemm.gemmBf16(ab, s.ta(), bb, s.tb(), c, 1f, 0f);
        return () -> {
            Gemm.useBf16Backend(route, threads);
            g.run();
        };
    }

    private static INDArray slice(INDArray x, long i) {
        return x.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i), org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.all());
    }

    /** Runs the peer command for one shape; returns its GFLOP/s, or NaN (with a note) if it failed. */
    private static double runPeer(List<String> command, int index, double budget) {
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(List.of("--index", Integer.toString(index), "--budget", Double.toString(budget), "--quiet"));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
            int rc = p.waitFor();
            String last = out.isEmpty() ? "" : out.substring(out.lastIndexOf('\n') + 1).strip();
            if (rc != 0) {
                System.err.println("peer command failed (exit " + rc + "): " + out);
                return Double.NaN;
            }
            return Double.parseDouble(last);
        } catch (java.io.IOException | NumberFormatException e) {
            System.err.println("peer command " + cmd + " failed: " + e.getMessage());
            return Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
    }

    private static String value(String[] args, int i, String opt) {
        if (i >= args.length) {
            throw new IllegalArgumentException("GemmBench: " + opt + " needs a value");
        }
        return args[i];
    }

    /**
     * Entry point.
     *
     * @param args as for {@link #run(String[])}
     */
    public static void main(String[] args) {
        run(args);
    }
}
