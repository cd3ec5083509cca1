package org.lowbit4j.models;

import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.nn.Layer;
import org.lowbit4j.nn.Linear;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The SwiGLU feed-forward block {@code w2(silu(w1 x) * w3 x)}. Children: {@code w1} [Hd, C],
 * {@code w2} [C, Hd], {@code w3} [Hd, C] (Hd = hidden dim), each a replaceable {@link Linear}.
 */
public final class LlamaFeedForward extends Layer {
    LlamaFeedForward(LlamaConfig config, DataType dataType) {
        long c = config.dim();
        long hd = config.hiddenDim();
        addChild("w1", new Linear(Nd4j.zeros(dataType, hd, c)));
        addChild("w2", new Linear(Nd4j.zeros(dataType, c, hd)));
        addChild("w3", new Linear(Nd4j.zeros(dataType, hd, c)));
    }

    /**
     * @param x [B, T, C]
     * @return [B, T, C]
     */
    @Override
    public Tensor forward(Tensor x) {
        Tensor gate = F.silu(layer("w1").forward(x));  // [B, T, Hd]
        Tensor up = layer("w3").forward(x);            // [B, T, Hd]
        return layer("w2").forward(F.mul(gate, up));   // [B, T, C]
    }
}
