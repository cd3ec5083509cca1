package org.lowbit4j.models.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.lowbit4j.models.InferenceSession;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.Llama2cFormat;
import org.lowbit4j.models.LlamaConfig;
import org.lowbit4j.models.Sampler;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Single-thread generation throughput of {@link InferenceSession} (tokens per second, greedy, positions
 * 0..steps-1 from BOS), for the exact and the Vector API kernels, on stories260K from a file and on a
 * randomly initialised stories15M-shaped model. Prints one line per case: the median of the timed
 * repetitions after warm-up.
 *
 * <pre>
 * usage: GenerateBench [model.bin] [steps=256] [reps=5]
 * </pre>
 */
public final class GenerateBench {
    private GenerateBench() {
    }

    public static void main(String[] args) throws IOException {
        run(args);
    }

    /**
     * @param args optional: checkpoint path (default ../shared/data/models/stories260K.bin), steps, repetitions
     */
    public static void run(String[] args) throws IOException {
        Path file = Path.of(args.length > 0 ? args[0] : "../shared/data/models/stories260K.bin");
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Llama small = Llama2cFormat.read(file, DataType.FLOAT);
        System.out.printf("java %s, %d cores, vector species %s%n", Runtime.version(),
                Runtime.getRuntime().availableProcessors(), jdk.incubator.vector.FloatVector.SPECIES_PREFERRED);
        for (var k : InferenceSession.Kernel.values()) {
            report(file.getFileName().toString(), small, k, steps, reps);
        }
        Llama big = Llama.random(LlamaConfig.stories15M(), DataType.FLOAT, 1);
        for (var k : InferenceSession.Kernel.values()) {
            report("stories15M-shaped (random)", big, k, Math.min(steps, 256), reps);
        }
    }

    private static void report(String name, Llama model, InferenceSession.Kernel kernel, int steps, int reps) {
        var session = new InferenceSession(model, kernel);
        int n = Math.min(steps, model.config().maxSeqLen());
        double[] rates = new double[reps];
        runOnce(session, n); // warm-up
        runOnce(session, n);
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            runOnce(session, n);
            rates[r] = n / ((System.nanoTime() - t0) / 1e9);
        }
        Arrays.sort(rates);
        System.out.printf("%-28s kernel %-6s %4d positions: %10.1f tok/s (median of %d; min %.1f, max %.1f)%n",
                name, kernel, n, rates[reps / 2], reps, rates[0], rates[reps - 1]);
    }

    private static void runOnce(InferenceSession session, int n) {
        var sampler = Sampler.greedy(session.config().vocabSize());
        int token = 1;
        for (int pos = 0; pos < n; pos++) {
            token = sampler.sample(session.forward(token, pos));
            if (token == 1) {
                token = 2; // keep going past an early BOS: the cost per position is what we measure
            }
        }
    }
}
