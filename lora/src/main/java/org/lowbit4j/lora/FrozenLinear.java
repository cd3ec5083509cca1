package org.lowbit4j.lora;

import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.nn.Layer;

/**
 * A linear layer {@code y = x W^T} over a {@link FrozenWeight} and nothing else: what
 * {@link Nf4Checkpoint#read} puts in place of each linear, and what a model keeps for linears that
 * get no adapter. It has no parameters (the frozen weight is not a tensor of the module tree), so a
 * model holding one must be merged ({@link LoraAdapters#merge}) before llama2.c export.
 */
public final class FrozenLinear extends Layer {
    private final FrozenWeight weight;

    /** @param weight the frozen weight [out, in] */
    public FrozenLinear(FrozenWeight weight) {
        this.weight = weight;
    }

    /** @return the frozen weight */
    public FrozenWeight weight() {
        return weight;
    }

    /**
     * @param x [..., in]
     * @return [..., out]
     */
    @Override
    public Tensor forward(Tensor x) {
        return apply(weight, x);
    }

    /** x W^T for any frozen weight: one GEMM for a dense one, tiled decoding otherwise. */
    static Tensor apply(FrozenWeight weight, Tensor x) {
        return switch (weight) {
            case DenseWeight d -> F.linear(x, d.tensor());
            case Bf16Weight b -> new TiledFrozenLinear(b).apply(x);
            case Nf4Weight q -> new TiledFrozenLinear(q).apply(x);
        };
    }
}
