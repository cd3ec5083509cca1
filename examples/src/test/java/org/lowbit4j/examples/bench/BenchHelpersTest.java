package org.lowbit4j.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The benchmark mains' pure helpers: profiler attribution, option parsing, shape table. */
class BenchHelpersTest {
    private static StackTraceElement f(String cls, String method) {
        return new StackTraceElement(cls, method, null, -1);
    }

    @Test
    void samplesAreChargedToTheInnermostOpAndPhase() {
        StackTraceElement[] gemmInBackward = {
            f("org.lowbit4j.autograd.blas.CblasLibrary", "gemm"),
            f("org.lowbit4j.autograd.blas.Gemm", "gemm"),
            f("org.lowbit4j.autograd.ops.Linear", "backward"),
            f("org.lowbit4j.autograd.Function", "runBackward"),
            f("org.lowbit4j.autograd.Tensor", "backward"),
            f("org.lowbit4j.examples.bench.TrainBench", "run")};
        assertEquals("Linear backward [GEMM]", OpProfiler.classify(gemmInBackward));
        StackTraceElement[] kernelInForward = {
            f("org.lowbit4j.autograd.ops.Buf", "get"),
            f("org.lowbit4j.autograd.ops.CausalAttention", "causalSoftmax"),
            f("org.lowbit4j.autograd.ops.CausalAttention", "forward"),
            f("org.lowbit4j.autograd.Function", "apply"),
            f("org.lowbit4j.models.Llama", "forward")};
        assertEquals("CausalAttention forward", OpProfiler.classify(kernelInForward));
        StackTraceElement[] optimizer = {f("org.lowbit4j.optim.AdamW", "update"), f("org.lowbit4j.optim.BaseOptimizer", "step")};
        assertEquals("optimizer step (AdamW)", OpProfiler.classify(optimizer));
        StackTraceElement[] accumulate = {f("org.nd4j.X", "addi"), f("org.lowbit4j.autograd.Tensor", "accumulate"),
            f("org.lowbit4j.autograd.Tensor", "backward")};
        assertEquals("gradient accumulation (Tensor.accumulate)", OpProfiler.classify(accumulate));
        assertEquals("other: Llama.forward", OpProfiler.classify(new StackTraceElement[] {
            f("org.nd4j.Y", "z"), f("org.lowbit4j.models.Llama", "forward")}));
        assertTrue(OpProfiler.classify(new StackTraceElement[0]).startsWith("other (outside"));
    }

    @Test
    void trainBenchOptionsParseAndValidate() {
        var s = TrainBench.Settings.parse(new String[] {"--steps", "3", "--batch", "2", "--optimizer", "sgd", "--profile"});
        assertEquals(3, s.steps());
        assertEquals(2, s.batch());
        assertEquals(256, s.seq());
        assertEquals(32000, s.vocab());
        assertEquals("sgd", s.optimizer());
        assertTrue(s.profile());
        var e = assertThrows(IllegalArgumentException.class, () -> TrainBench.Settings.parse(new String[] {"--bogus", "1"}));
        assertTrue(e.getMessage().contains("--bogus"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainBench.Settings.parse(new String[] {"--heads", "7"}));
        assertTrue(e.getMessage().contains("heads=7"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainBench.Settings.parse(new String[] {"--steps", "x"}));
        assertTrue(e.getMessage().contains("integer"), e.getMessage());
    }

    @Test
    void gemmBenchShapesAreTheStories15MProducts() {
        var shapes = GemmBench.shapes();
        assertEquals(17, shapes.size());
        // forward classifier: logits [2048, 32000] from x [2048, 288] and W [32000, 288]^T
        var cls = shapes.stream().filter(s -> s.name().startsWith("cls fwd")).findFirst().orElseThrow();
        assertEquals(2048, cls.m());
        assertEquals(32000, cls.n());
        assertEquals(288, cls.k());
        assertTrue(cls.tb());
        assertEquals(2.0 * 2048 * 32000 * 288, cls.flops());
        assertThrows(IllegalArgumentException.class, () -> new GemmBench.Shape("bad", 0, 1, 1, false, false, 1));
    }
}
