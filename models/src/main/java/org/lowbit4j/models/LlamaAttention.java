package org.lowbit4j.models;

import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.nn.Layer;
import org.lowbit4j.nn.Linear;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Causal grouped-query self-attention with RoPE. Children (llama2.c / Meta names): {@code wq}
 * [C, C], {@code wk} [K*D, C], {@code wv} [K*D, C], {@code wo} [C, C], all {@link Linear} without bias
 * and replaceable by name.
 */
public final class LlamaAttention extends Layer {
    private final LlamaConfig config;

    LlamaAttention(LlamaConfig config, DataType dataType) {
        this.config = config;
        long c = config.dim();
        long kv = config.kvDim();
        addChild("wq", new Linear(Nd4j.zeros(dataType, c, c)));
        addChild("wk", new Linear(Nd4j.zeros(dataType, kv, c)));
        addChild("wv", new Linear(Nd4j.zeros(dataType, kv, c)));
        addChild("wo", new Linear(Nd4j.zeros(dataType, c, c)));
    }

    /**
     * @param x the normalised residual stream [B, T, C], positions 0..T-1
     * @return the attention output projected back to [B, T, C]
     */
    @Override
    public Tensor forward(Tensor x) {
        long b = x.size(0);
        long t = x.size(1);
        int h = config.nHeads();
        int k = config.nKvHeads();
        int d = config.headSize();
        Tensor q = F.reshape(layer("wq").forward(x), b, t, h, d);   // [B, T, H, D]
        Tensor kk = F.reshape(layer("wk").forward(x), b, t, k, d);  // [B, T, K, D]
        Tensor v = F.reshape(layer("wv").forward(x), b, t, k, d);   // [B, T, K, D]
        q = F.rope(q, 0, config.ropeTheta());                       // [B, T, H, D]
        kk = F.rope(kk, 0, config.ropeTheta());                     // [B, T, K, D]
        Tensor a = F.causalAttention(q, kk, v);                     // [B, T, H, D]
        a = F.reshape(a, b, t, (long) h * d);                       // [B, T, C]
        return layer("wo").forward(a);                              // [B, T, C]
    }

}
