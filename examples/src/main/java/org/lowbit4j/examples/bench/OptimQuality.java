package org.lowbit4j.examples.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.GradMode;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.datasets.AtomicFiles;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.mixedprec.LossScaler;
import org.lowbit4j.mixedprec.MixedPrecision;
import org.lowbit4j.mixedprec.Precision;
import org.lowbit4j.mixedprec.fp8.Fp8Recipe;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.LlamaConfig;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamW4bit;
import org.lowbit4j.optim.AdamW8bit;
import org.lowbit4j.optim.AdamWConfig;
import org.lowbit4j.optim.LrSchedule;
import org.lowbit4j.optim.Optimizer;
import org.lowbit4j.optim.QuantConfig;
import org.lowbit4j.optim.UpdateOptions;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Trains the same small Llama from scratch with fp32 AdamW, AdamW8bit and AdamW4bit (same initial weights,
 * same batches, same schedule) and compares validation losses: the quality check of the quantized optimizer
 * states.
 *
 * <p>Usage: {@code ./lowbit4j bench optim-quality [--steps 600] [--dim 128] [--layers 4] [--batch 8]
 * [--seq 128] [--out bench-out]}; it prints a table and writes {@code optim_quality.csv} and the loss-curve
 * chart {@code optim_quality.png} into the output directory. Data: tinyshakespeare encoded with the tok512
 * vocabulary, the first 90% for training, the last 10% for validation.
 */
public final class OptimQuality {
    /** Positions excluded from the loss (none here; every window is full). */
    private static final int IGNORE = -100;

    private OptimQuality() {
    }

    /**
     * One comparison's settings.
     *
     * @param config model shape (vocabulary 512 for tok512)
     * @param batch sequences per step B
     * @param seqLen tokens per sequence T
     * @param steps optimizer steps
     * @param lr peak learning rate (warm-up then cosine decay to lr / 10)
     * @param warmup warm-up steps
     * @param evalEvery validation loss every this many steps (and at the end)
     * @param evalBatches validation batches of B sequences
     * @param seed model initialisation and batch order
     */
    public record Setup(LlamaConfig config, int batch, int seqLen, int steps, double lr, int warmup, int evalEvery,
            int evalBatches, long seed) {
        /** @throws IllegalArgumentException for a non-positive size */
        public Setup {
            if (batch < 1 || seqLen < 2 || steps < 1 || evalEvery < 1 || evalBatches < 1 || warmup < 0
                    || !(lr > 0)) {
                throw new IllegalArgumentException("bad setup: batch " + batch + ", seqLen " + seqLen + ", steps "
                        + steps + ", evalEvery " + evalEvery + ", evalBatches " + evalBatches + ", lr " + lr);
            }
        }
    }

    /**
     * A training run's record.
     *
     * @param optimizer the run's label (optimizer, or precision)
     * @param evalSteps steps at which the validation loss was measured
     * @param valLoss validation loss (nats/token) at those steps
     * @param trainLoss training loss of every step
     * @param stateBytes optimizer state bytes
     * @param seconds wall time of the run
     */
    public record Curve(String optimizer, List<Integer> evalSteps, List<Double> valLoss, double[] trainLoss,
            long stateBytes, double seconds) {
        /** @return the last validation loss */
        public double finalValLoss() {
            return valLoss.getLast();
        }
    }

    /** The three optimizers compared. */
    public enum Kind {
        /** fp32 moments. */
        ADAMW,
        /** 8-bit block-wise moments. */
        ADAMW8BIT,
        /** 4-bit moments, rank-1 second moment. */
        ADAMW4BIT;

        Optimizer create(List<Tensor> params, AdamWConfig cfg) {
            UpdateOptions opts = UpdateOptions.DEFAULTS;
            return switch (this) {
                case ADAMW -> new AdamW(params, cfg, opts);
                case ADAMW8BIT -> new AdamW8bit(params, cfg, QuantConfig.DEFAULTS, opts);
                case ADAMW4BIT -> new AdamW4bit(params, cfg, QuantConfig.DEFAULTS, opts);
            };
        }
    }

    /**
     * @param text a UTF-8 text file
     * @param tokenizer a llama2.c tokenizer file of 512 tokens
     * @param maxChars use at most this many leading characters
     * @return the token ids
     * @throws IOException on a read failure
     */
    public static int[] tokens(Path text, Path tokenizer, int maxChars) throws IOException {
        String s = Files.readString(text, StandardCharsets.UTF_8);
        if (s.length() > maxChars) {
            s = s.substring(0, maxChars);
        }
        return Tokenizer.load(tokenizer, 512).encode(s, false, false);
    }

    /** Inputs and next-token targets [B, T] of windows starting at {@code starts}. */
    private static INDArray[] batch(int[] tokens, int[] starts, int t) {
        int[][] in = new int[starts.length][t];
        int[][] tg = new int[starts.length][t];
        for (int b = 0; b < starts.length; b++) {
            System.arraycopy(tokens, starts[b], in[b], 0, t);
            System.arraycopy(tokens, starts[b] + 1, tg[b], 0, t);
        }
        return new INDArray[] {Nd4j.createFromArray(in), Nd4j.createFromArray(tg)};
    }

    /**
     * Trains one model from scratch in fp32.
     *
     * @param kind the optimizer
     * @param s settings
     * @param tokens the token stream (first 90% train, last 10% validation)
     * @return the loss curves
     * @throws IllegalArgumentException if the text is too short for the windows
     */
    public static Curve train(Kind kind, Setup s, int[] tokens) {
        return train(kind, Precision.FP32, s, tokens);
    }

    /**
     * Trains one model from scratch with its products in {@code precision} (fp32 master weights; FP16 with the
     * default dynamic loss scaler, FP8 with Transformer Engine's default recipe); validation runs in the same
     * precision.
     *
     * @param kind the optimizer
     * @param precision the mixed-precision mode
     * @param s settings
     * @param tokens the token stream (first 90% train, last 10% validation)
     * @return the loss curves, labelled with the optimizer for fp32 and with the precision otherwise
     * @throws IllegalArgumentException if the text is too short for the windows
     */
    @SuppressWarnings("try")
    public static Curve train(Kind kind, Precision precision, Setup s, int[] tokens) {
        int split = (int) (tokens.length * 0.9);
        int t = s.seqLen();
        if (split - t - 1 < s.batch() || tokens.length - split - t - 1 < s.batch()) {
            throw new IllegalArgumentException(tokens.length + " tokens are too few for windows of " + t);
        }
        long t0 = System.nanoTime();
        Llama model = Llama.random(s.config(), DataType.FLOAT, s.seed());
        List<Tensor> params = model.trainableParameters();
        AdamWConfig cfg = AdamWConfig.DEFAULTS.withLr(s.lr()).withWeightDecay(0.1).withBetas(0.9, 0.95);
        Optimizer opt = kind.create(params, cfg);
        Autocast.Policy policy = MixedPrecision.policy(precision, model, Fp8Recipe.defaults());
        LossScaler scaler = MixedPrecision.defaultScaler(precision);
        var schedule = new LrSchedule.WarmupCosine(s.lr(), s.lr() / 10, s.warmup(), s.steps());
        SplittableRandom rng = new SplittableRandom(s.seed());
        List<Integer> evalSteps = new ArrayList<>();
        List<Double> val = new ArrayList<>();
        double[] train = new double[s.steps()];
        for (int step = 0; step < s.steps(); step++) {
            int[] starts = new int[s.batch()];
            for (int b = 0; b < starts.length; b++) {
                starts[b] = rng.nextInt(split - t - 1);
            }
            INDArray[] xy = batch(tokens, starts, t);
            opt.zeroGrad();
            Tensor loss;
            try (var ac = Autocast.enable(policy)) {
                loss = model.loss(xy[0], xy[1], IGNORE);
            }
            train[step] = loss.value().getDouble(0);
            (scaler != null ? scaler.scale(loss) : loss).backward();
            opt.setLr(schedule.lr(step));
            MixedPrecision.unscaleClipStep(scaler, opt, 1.0);
            if ((step + 1) % s.evalEvery() == 0 || step + 1 == s.steps()) {
                evalSteps.add(step + 1);
                try (var ac = Autocast.enable(policy)) {
                    val.add(validate(model, tokens, split, s));
                }
            }
        }
        String label = precision == Precision.FP32 ? kind.name() : precision.name();
        return new Curve(label, evalSteps, val, train, opt.stateBytes(), (System.nanoTime() - t0) / 1e9);
    }

    @SuppressWarnings("try")
    private static double validate(Llama model, int[] tokens, int split, Setup s) {
        int t = s.seqLen();
        int windows = s.evalBatches() * s.batch();
        long span = tokens.length - split - t - 1;
        double sum = 0;
        try (var scope = GradMode.noGrad()) {
            for (int k = 0; k < s.evalBatches(); k++) {
                int[] starts = new int[s.batch()];
                for (int b = 0; b < starts.length; b++) {
                    starts[b] = split + (int) (span * (k * s.batch() + b) / windows);
                }
                INDArray[] xy = batch(tokens, starts, t);
                sum += model.loss(xy[0], xy[1], IGNORE).value().getDouble(0);
            }
        }
        return sum / s.evalBatches();
    }

    /**
     * The command-line options of the quality comparisons ({@code optim-quality}, {@code precision-quality}).
     *
     * @param steps optimizer steps (default 600)
     * @param dim model width (default 128; hidden 8/3 of it, one head per 32 channels)
     * @param layers blocks (default 4)
     * @param batch sequences per step (default 8)
     * @param seq tokens per sequence (default 128)
     * @param lr peak learning rate (default 3e-3)
     * @param out where the CSV and PNG go (default bench-out)
     * @param data the shared data directory (default the lowbit4j.sharedData property, else ../shared/data)
     */
    public record Options(int steps, int dim, int layers, int batch, int seq, double lr, Path out, Path data) {
        /**
         * @param args {@code --steps N --dim N --layers N --batch N --seq N --lr X --out DIR --data DIR}
         * @return the options
         * @throws IllegalArgumentException on an unknown option or a missing value
         */
        public static Options parse(String[] args) {
            int steps = 600;
            int dim = 128;
            int layers = 4;
            int batch = 8;
            int seq = 128;
            double lr = 3e-3;
            Path out = Path.of("bench-out");
            Path data = Path.of(System.getProperty("lowbit4j.sharedData", "../shared/data"));
            for (int i = 0; i < args.length; i++) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("option " + args[i] + " needs a value");
                }
                String v = args[i + 1];
                switch (args[i++]) {
                    case "--steps" -> steps = Integer.parseInt(v);
                    case "--dim" -> dim = Integer.parseInt(v);
                    case "--layers" -> layers = Integer.parseInt(v);
                    case "--batch" -> batch = Integer.parseInt(v);
                    case "--seq" -> seq = Integer.parseInt(v);
                    case "--lr" -> lr = Double.parseDouble(v);
                    case "--out" -> out = Path.of(v);
                    case "--data" -> data = Path.of(v);
                    default -> throw new IllegalArgumentException("unknown option " + args[i - 1]
                            + "; expected --steps, --dim, --layers, --batch, --seq, --lr, --out, --data");
                }
            }
            return new Options(steps, dim, layers, batch, seq, lr, out, data);
        }

        /**
         * @return tinyshakespeare encoded with tok512
         * @throws IOException on a read failure
         * @throws IllegalArgumentException if a data file is missing
         */
        public int[] tokens() throws IOException {
            Path text = data.resolve("text/tinyshakespeare.txt");
            Path tok = data.resolve("models/tok512.bin");
            for (Path p : List.of(text, tok)) {
                if (!Files.isRegularFile(p)) {
                    throw new IllegalArgumentException("missing data file " + p.toAbsolutePath()
                            + " (pass --data DIR pointing at shared/data)");
                }
            }
            return OptimQuality.tokens(text, tok, Integer.MAX_VALUE);
        }

        /** @return the model and schedule: warm-up and evaluation every steps/20, 8 validation batches, seed 1234 */
        public Setup setup() {
            var cfg = new LlamaConfig(dim, dim * 8 / 3 / 32 * 32, layers, Math.max(1, dim / 32), Math.max(1, dim / 32),
                    512, seq, true);
            return new Setup(cfg, batch, seq, steps, lr, Math.max(1, steps / 20), Math.max(1, steps / 20), 8, 1234);
        }
    }

    /** @param args see the class comment */
    public static void main(String[] args) throws IOException {
        run(args);
    }

    /**
     * Runs the comparison, prints a Markdown table and writes the CSV and PNG.
     *
     * @param args {@code --steps N --dim N --layers N --batch N --seq N --lr X --out DIR --data DIR}
     * @throws IOException on a read or write failure
     * @throws IllegalArgumentException on a bad option
     */
    public static void run(String[] args) throws IOException {
        Options o = Options.parse(args);
        int[] tokens = o.tokens();
        Setup setup = o.setup();
        LlamaConfig cfg = setup.config();
        Path out = o.out();
        System.out.printf(Locale.ROOT, "model dim %d, hidden %d, %d layers, %d heads, vocab 512; %,d tokens; "
                + "B %d, T %d, %d steps, lr %.1e (warm-up %d, cosine to lr/10), wd 0.1, betas (0.9, 0.95), clip 1.0%n",
                cfg.dim(), cfg.hiddenDim(), cfg.nLayers(), cfg.nHeads(), tokens.length, o.batch(), o.seq(), o.steps(),
                o.lr(), setup.warmup());
        List<Curve> curves = new ArrayList<>();
        for (Kind k : Kind.values()) {
            Curve c = train(k, setup, tokens);
            curves.add(c);
            System.out.printf(Locale.ROOT, "%s: final validation loss %.4f (%.0f s)%n", k, c.finalValLoss(), c.seconds());
        }
        double base = curves.getFirst().finalValLoss();
        long params = Llama.random(cfg, DataType.FLOAT, 1).parameterCount();
        System.out.println();
        System.out.println("| optimizer | final val loss | vs fp32 | state bytes | bytes/param |");
        System.out.println("|---|---:|---:|---:|---:|");
        for (Curve c : curves) {
            System.out.printf(Locale.ROOT, "| %s | %.4f | %+.2f%% | %,d | %.3f |%n", c.optimizer(), c.finalValLoss(),
                    100 * (c.finalValLoss() / base - 1), c.stateBytes(), (double) c.stateBytes() / params);
        }
        Files.createDirectories(out);
        writeCsv(curves, out.resolve("optim_quality.csv"));
        writeChart(curves, out.resolve("optim_quality.png"), "Validation loss, tinyshakespeare, dim " + cfg.dim() + ", "
                + cfg.nLayers() + " layers");
        System.out.println("wrote " + out.resolve("optim_quality.csv") + " and " + out.resolve("optim_quality.png"));
    }

    static void writeCsv(List<Curve> curves, Path file) throws IOException {
        StringBuilder sb = new StringBuilder("step");
        for (Curve c : curves) {
            sb.append(',').append(c.optimizer()).append("_val");
        }
        sb.append('\n');
        for (int i = 0; i < curves.getFirst().evalSteps().size(); i++) {
            sb.append(curves.getFirst().evalSteps().get(i));
            for (Curve c : curves) {
                sb.append(',').append(String.format(Locale.ROOT, "%.6f", c.valLoss().get(i)));
            }
            sb.append('\n');
        }
        AtomicFiles.write(file, out -> out.write(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** A plain line chart of the validation curves (Java2D, headless). */
    static void writeChart(List<Curve> curves, Path file, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 900;
        int h = 560;
        int left = 80;
        int right = 200;
        int top = 50;
        int bottom = 60;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double minY = Double.MAX_VALUE;
        double maxY = -Double.MAX_VALUE;
        int maxX = 1;
        for (Curve c : curves) {
            for (double v : c.valLoss()) {
                minY = Math.min(minY, v);
                maxY = Math.max(maxY, v);
            }
            maxX = Math.max(maxX, c.evalSteps().getLast());
        }
        double pad = (maxY - minY) * 0.05 + 1e-9;
        minY -= pad;
        maxY += pad;
        int pw = w - left - right;
        int ph = h - top - bottom;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString(title, left, 30);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawRect(left, top, pw, ph);
        for (int k = 0; k <= 5; k++) {
            double yv = minY + (maxY - minY) * k / 5;
            int y = top + ph - (int) Math.round(ph * (yv - minY) / (maxY - minY));
            g.setColor(new Color(230, 230, 230));
            g.drawLine(left + 1, y, left + pw - 1, y);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.3f", yv), 20, y + 4);
            int xv = maxX * k / 5;
            int x = left + pw * k / 5;
            g.drawString(Integer.toString(xv), x - 10, top + ph + 18);
        }
        g.drawString("step", left + pw / 2 - 10, h - 15);
        g.drawString("val loss (nats/token)", 5, top - 8);
        Color[] colors = {new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44),
            new Color(214, 39, 40)};
        g.setStroke(new BasicStroke(2f));
        for (int ci = 0; ci < curves.size(); ci++) {
            Curve c = curves.get(ci);
            g.setColor(colors[ci % colors.length]);
            int px = -1;
            int py = -1;
            for (int i = 0; i < c.evalSteps().size(); i++) {
                int x = left + (int) Math.round((double) pw * c.evalSteps().get(i) / maxX);
                int y = top + ph - (int) Math.round(ph * (c.valLoss().get(i) - minY) / (maxY - minY));
                if (px >= 0) {
                    g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
            int ly = top + 20 + 22 * ci;
            g.drawLine(left + pw + 15, ly, left + pw + 40, ly);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%s %.4f", c.optimizer(), c.finalValLoss()), left + pw + 45,
                    ly + 4);
        }
        g.dispose();
        AtomicFiles.write(file, out -> ImageIO.write(img, "png", out));
    }
}
