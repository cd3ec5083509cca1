package org.lowbit4j.mixedprec;

import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The fp32 policy: every product runs exactly as without autocast. It lets a training loop open an autocast scope
 * unconditionally, whatever {@link Precision} it was given.
 */
public final class Fp32Policy implements Autocast.Policy {
    @Override
    public Tensor linear(Tensor x, Tensor w) {
        return F.linear(x, w);
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        return F.matmul(a, b);
    }

    @Override
    public Tensor causalAttention(Tensor q, Tensor k, Tensor v) {
        return F.causalAttention(q, k, v);
    }

    @Override
    public Tensor linearCrossEntropy(Tensor x, Tensor w, INDArray targets, int ignoreIndex) {
        return F.linearCrossEntropy(x, w, targets, ignoreIndex); // the fused fp32 primitive
    }

    @Override
    public Tensor castActivation(Tensor x) {
        return x;
    }

    @Override
    public String toString() {
        return "FP32 (no autocast)";
    }
}
