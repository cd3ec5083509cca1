package org.lowbit4j.nn;

import org.lowbit4j.autograd.Tensor;

/**
 * A module that maps one tensor to one tensor. Anything that replaces a {@link Linear} (a LoRA
 * adapter, a quantized or FP8 linear) extends this, so that {@link Module#replaceChild} can swap it
 * in by name and parents keep calling {@link #forward(Tensor)}.
 */
public abstract class Layer extends Module {
    /**
     * @param x input, typically {@code [..., in]}
     * @return output, typically {@code [..., out]}
     */
    public abstract Tensor forward(Tensor x);
}
