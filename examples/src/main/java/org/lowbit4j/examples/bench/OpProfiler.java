package org.lowbit4j.examples.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A sampling profiler for one thread: every {@code intervalMillis} it takes that thread's Java
 * stack and charges the sample to the innermost autograd op ({@code org.lowbit4j.autograd.ops.X}
 * and its method, e.g. {@code CausalAttention.backward}), marking samples spent inside
 * {@code Gemm}; samples outside any op go to the optimizer, the tape (gradient accumulation), or
 * the innermost lowbit4j frame.
 *
 * <p>NOTE: stacks are taken at safepoints, so attribution within an op's Java code is biased
 * towards loop exits; time inside native calls (BLAS, ND4J) is attributed to the Java frame that
 * made the call, which is what we want here.
 */
final class OpProfiler implements AutoCloseable {
    private final Thread target;
    private final Thread sampler;
    private final Map<String, Integer> counts = new HashMap<>();
    private volatile boolean running = true;
    private volatile boolean enabled;
    private int total;

    /**
     * @param target the thread to sample
     * @param intervalMillis sampling period, at least 1
     */
    OpProfiler(Thread target, int intervalMillis) {
        if (intervalMillis < 1) {
            throw new IllegalArgumentException("sampling interval must be >= 1 ms, got " + intervalMillis);
        }
        this.target = target;
        this.sampler = Thread.ofPlatform().daemon().name("op-profiler").start(() -> loop(intervalMillis));
    }

    /** Starts or pauses counting (warm-up steps are not profiled). */
    void enable(boolean on) {
        enabled = on;
    }

    private void loop(int intervalMillis) {
        while (running) {
            try {
                Thread.sleep(intervalMillis);
            } catch (InterruptedException e) {
                return;
            }
            if (enabled) {
                String key = classify(target.getStackTrace());
                synchronized (counts) {
                    counts.merge(key, 1, Integer::sum);
                    total++;
                }
            }
        }
    }

    static String classify(StackTraceElement[] stack) {
        boolean inGemm = false;
        String firstOurs = null;
        for (StackTraceElement f : stack) {
            String cls = f.getClassName();
            if (cls.startsWith("org.lowbit4j.autograd.blas.")) {
                inGemm = true;
            }
            if (firstOurs == null && cls.startsWith("org.lowbit4j.") && !cls.startsWith("org.lowbit4j.autograd.blas.")
                    && !cls.startsWith("org.lowbit4j.examples.")) {
                firstOurs = simple(cls) + "." + f.getMethodName();
            }
            boolean mixedPrecisionOp = cls.startsWith("org.lowbit4j.mixedprec.") && !cls.endsWith("Policy")
                    && !cls.endsWith("HalfFormat") && !cls.endsWith("Kernels") && !cls.endsWith("Meta");
            if ((cls.startsWith("org.lowbit4j.autograd.ops.") && !cls.endsWith(".Buf") && !cls.endsWith(".Shapes"))
                    || mixedPrecisionOp) {
                String op = simple(cls);
                int dollar = op.indexOf('$');
                op = dollar > 0 ? op.substring(0, dollar) : op;
                String phase = phaseOf(stack);
                return op + " " + phase + (inGemm ? " [GEMM]" : "");
            }
            if (cls.startsWith("org.lowbit4j.optim.")) {
                return "optimizer step (" + simple(cls) + ")";
            }
            if (cls.equals("org.lowbit4j.autograd.Tensor") && f.getMethodName().equals("accumulate")) {
                return "gradient accumulation (Tensor.accumulate)";
            }
        }
        return firstOurs != null ? "other: " + firstOurs : "other (outside lowbit4j: JVM, GC, harness)";
    }

    private static String phaseOf(StackTraceElement[] stack) {
        for (StackTraceElement f : stack) {
            if (f.getClassName().equals("org.lowbit4j.autograd.Function")) {
                return f.getMethodName().equals("runBackward") ? "backward" : "forward";
            }
        }
        return "?";
    }

    private static String simple(String cls) {
        return cls.substring(cls.lastIndexOf('.') + 1);
    }

    /**
     * @param wallSeconds the profiled wall time, to turn sample shares into seconds
     * @param steps the number of profiled steps, for a per-step figure
     * @return a Markdown table, largest share first
     */
    String report(double wallSeconds, int steps) {
        List<Map.Entry<String, Integer>> rows;
        int n;
        synchronized (counts) {
            rows = new ArrayList<>(counts.entrySet());
            n = total;
        }
        rows.sort(Map.Entry.<String, Integer>comparingByValue().reversed());
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "| op (phase) | share | ms/step |%n|---|---:|---:|%n"));
        double gemm = 0;
        for (var e : rows) {
            double share = e.getValue() / (double) Math.max(1, n);
            if (e.getKey().endsWith("[GEMM]")) {
                gemm += share;
            }
            sb.append(String.format(Locale.ROOT, "| %s | %.1f%% | %.0f |%n", e.getKey(), 100 * share,
                    1000 * share * wallSeconds / steps));
        }
        sb.append(String.format(Locale.ROOT, "| **all GEMM** | %.1f%% | %.0f |%n", 100 * gemm,
                1000 * gemm * wallSeconds / steps));
        sb.append(String.format(Locale.ROOT, "(%d samples)%n", n));
        return sb.toString();
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
    }
}
