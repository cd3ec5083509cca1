package org.lowbit4j.autograd;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Timing of the heavy primitives in FLOAT at a small-Llama training shape (a main, not a test):
 * B=8, T=256, H=6, K=6 or 3, D=48, C=288, V=512. Prints the median forward and forward+backward
 * time of each over {@code reps} repetitions (argument, default 5) after 3 warm-up runs.
 *
 * <pre>
 * mvn -o -q -pl autograd -am test-compile
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp autograd/target/classes:autograd/target/test-classes:$(cat cp.txt) org.lowbit4j.autograd.OpsBenchmark 9
 * </pre>
 */
public final class OpsBenchmark {
    private OpsBenchmark() {
    }

    private interface Step {
        Tensor run();
    }

    public static void main(String[] args) {
        int b = 8, t = 256, h = 6, d = 48, c = h * d, v = 512;
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        Nd4j.getRandom().setSeed(1);
        Tensor q = Tensor.parameter(Nd4j.randn(DataType.FLOAT, b, t, h, d));
        Tensor k = Tensor.parameter(Nd4j.randn(DataType.FLOAT, b, t, h, d));
        Tensor vv = Tensor.parameter(Nd4j.randn(DataType.FLOAT, b, t, h, d));
        Tensor k3 = Tensor.parameter(Nd4j.randn(DataType.FLOAT, b, t, h / 2, d));
        Tensor v3 = Tensor.parameter(Nd4j.randn(DataType.FLOAT, b, t, h / 2, d));
        Tensor x = Tensor.parameter(Nd4j.randn(DataType.FLOAT, b, t, c));
        Tensor w = Tensor.parameter(Nd4j.rand(DataType.FLOAT, c));
        Tensor wl = Tensor.parameter(Nd4j.randn(DataType.FLOAT, 768, c).muli(0.05));
        Tensor logits = Tensor.parameter(Nd4j.randn(DataType.FLOAT, b, t, v));
        INDArray targets = Nd4j.createFromArray(new long[b * t]).reshape(b, t);
        bench("causalAttention H=K=6", reps, () -> F.causalAttention(q, k, vv));
        bench("causalAttention H=6 K=3", reps, () -> F.causalAttention(q, k3, v3));
        bench("crossEntropy [8,256,512]", reps, () -> F.crossEntropy(logits, targets, -100));
        bench("rmsNorm fused [8,256,288]", reps, () -> F.rmsNormFused(x, w, 1e-5));
        bench("rmsNorm composite [8,256,288]", reps, () -> F.rmsNormComposite(x, w, 1e-5));
        bench("rope [8,256,6,48]", reps, () -> F.rope(q, 0, 10000));
        bench("silu [8,256,288]", reps, () -> F.silu(x));
        bench("linear [8,256,288]x[768,288]", reps, () -> F.linear(x, wl));
    }

    private static void bench(String name, int reps, Step step) {
        long[] fwd = new long[reps];
        long[] both = new long[reps];
        int warmup = 3; // JIT compilation of the kernels
        for (int i = 0; i < reps + warmup; i++) {
            long t0 = System.nanoTime();
            Tensor y = step.run();
            long t1 = System.nanoTime();
            INDArray seed = Nd4j.onesLike(y.value()); // not timed
            long t2 = System.nanoTime();
            y.backward(seed);
            long t3 = System.nanoTime();
            if (i >= warmup) {
                fwd[i - warmup] = t1 - t0;
                both[i - warmup] = (t1 - t0) + (t3 - t2);
            }
        }
        java.util.Arrays.sort(fwd);
        java.util.Arrays.sort(both);
        System.out.printf("%-32s forward %8.2f ms   forward+backward %8.2f ms%n", name, fwd[reps / 2] / 1e6,
                both[reps / 2] / 1e6);
    }
}
