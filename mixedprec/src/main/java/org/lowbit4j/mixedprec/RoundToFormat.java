package org.lowbit4j.mixedprec;

import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A cast to a 16-bit working format: the forward rounds the values, and the backward rounds the incoming gradient to
 * the same format, so that gradients flowing back through a low-precision region are low-precision too (this is
 * where FP16 gradients underflow without loss scaling). Not straight-through in the usual sense: the gradient itself
 * is quantized, as a GPU's cast kernel would produce it.
 *
 * <p>Input: any FLOAT shape. Output: same shape.
 */
public final class RoundToFormat extends Function {
    private final HalfFormat format;

    /** @param format the working format */
    public RoundToFormat(HalfFormat format) {
        this.format = java.util.Objects.requireNonNull(format, "format");
    }

    @Override
    public String name() {
        return "RoundTo" + format;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        return format.round(in[0]);
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {format.round(g)};
    }
}
