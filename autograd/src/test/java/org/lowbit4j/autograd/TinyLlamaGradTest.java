package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * All model primitives composed into one tiny Llama block (embedding, RMSNorm, GQA attention with
 * RoPE, SwiGLU MLP, tied classifier, cross-entropy with an ignored position), gradient-checked in
 * float64 with respect to every parameter.
 */
class TinyLlamaGradTest {
    private static final int B = 2, T = 3, C = 8, H = 2, K = 1, D = 4, HID = 6, V = 5;

    @Test
    void wholeBlockGradients() {
        Tensor emb = param(200, V, C);
        Tensor attnNorm = param(201, 0.5, 1.5, C);
        Tensor wq = param(202, H * D, C);
        Tensor wk = param(203, K * D, C);
        Tensor wv = param(204, K * D, C);
        Tensor wo = param(205, C, H * D);
        Tensor ffnNorm = param(206, 0.5, 1.5, C);
        Tensor w1 = param(207, HID, C);
        Tensor w2 = param(208, C, HID);
        Tensor w3 = param(209, HID, C);
        Tensor finalNorm = param(210, 0.5, 1.5, C);
        INDArray tokens = TestArrays.longs(new long[] {1, 4, 0, 3, 3, 2}, B, T);
        INDArray targets = TestArrays.longs(new long[] {4, 0, 2, -100, 2, 1}, B, T);
        GradientCheck.Result r = GradientCheck.assertGradients("tiny llama", () -> {
            Tensor x = F.embedding(emb, tokens); // [B, T, C]
            Tensor h = F.rmsNorm(x, attnNorm, 1e-5);
            Tensor q = F.rope(F.reshape(F.linear(h, wq), B, T, H, D), 0, 10000); // [B, T, H, D]
            Tensor k = F.rope(F.reshape(F.linear(h, wk), B, T, K, D), 0, 10000); // [B, T, K, D]
            Tensor v = F.reshape(F.linear(h, wv), B, T, K, D);
            Tensor a = F.reshape(F.causalAttention(q, k, v), B, T, H * D);
            x = F.add(x, F.linear(a, wo));
            Tensor g = F.rmsNorm(x, ffnNorm, 1e-5);
            Tensor mlp = F.linear(F.mul(F.silu(F.linear(g, w1)), F.linear(g, w3)), w2); // [B, T, C]
            x = F.add(x, mlp);
            Tensor logits = F.linear(F.rmsNorm(x, finalNorm, 1e-5), emb); // [B, T, V], tied classifier
            return F.crossEntropy(logits, targets, -100);
        }, emb, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm);
        assertTrue(r.maxError() <= GradientCheck.TOLERANCE, r.toString());
    }
}
