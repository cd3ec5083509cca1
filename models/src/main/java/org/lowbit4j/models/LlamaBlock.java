package org.lowbit4j.models;

import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.nn.Layer;
import org.lowbit4j.nn.RmsNorm;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * One pre-norm transformer block. Children: {@code attention} ({@link LlamaAttention}),
 * {@code attention_norm}, {@code feed_forward} ({@link LlamaFeedForward}), {@code ffn_norm}.
 */
public final class LlamaBlock extends Layer {
    LlamaBlock(LlamaConfig config, DataType dataType) {
        addChild("attention", new LlamaAttention(config, dataType));
        addChild("attention_norm", new RmsNorm(config.dim(), config.normEps(), dataType));
        addChild("feed_forward", new LlamaFeedForward(config, dataType));
        addChild("ffn_norm", new RmsNorm(config.dim(), config.normEps(), dataType));
    }

    /**
     * @param x the residual stream [B, T, C]
     * @return the updated residual stream [B, T, C]
     */
    @Override
    public Tensor forward(Tensor x) {
        Tensor h = layer("attention_norm").forward(x);   // [B, T, C]
        x = F.add(x, layer("attention").forward(h));     // [B, T, C]
        h = layer("ffn_norm").forward(x);                // [B, T, C]
        return F.add(x, layer("feed_forward").forward(h)); // [B, T, C]
    }
}
