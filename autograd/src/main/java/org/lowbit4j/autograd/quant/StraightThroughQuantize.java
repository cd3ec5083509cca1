package org.lowbit4j.autograd.quant;

import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A straight-through quantizer node: the forward pass is {@link FakeQuantizer} quantize-then-dequantize, the
 * backward pass treats rounding as the identity.
 *
 * <pre>{@code
 * Tensor wq = new StraightThroughQuantize(FakeQuantizer.intPerChannel(4), null, Backward.CLIPPED).apply(w);
 * }</pre>
 * Input and output: any shape, float or double.
 */
public final class StraightThroughQuantize extends Function {
    /** The gradient rule. */
    public enum Backward {
        /** dL/dx = dL/dy everywhere. */
        IDENTITY,
        /** dL/dx = dL/dy inside the group's representable range, 0 outside (LLM-QAT's clipped STE). */
        CLIPPED
    }

    private final FakeQuantizer quantizer;
    private final QuantParams staticParams;
    private final Backward backward;
    private QuantParams used;
    private INDArray mask;

    /**
     * @param quantizer format, granularity and scale method
     * @param staticParams calibrated parameters, or null to compute them from each input (dynamic)
     * @param backward the gradient rule
     * @throws IllegalArgumentException if quantizer or backward is null
     */
    public StraightThroughQuantize(FakeQuantizer quantizer, QuantParams staticParams, Backward backward) {
        if (quantizer == null || backward == null) {
            throw new IllegalArgumentException("quantizer and backward rule must be given");
        }
        this.quantizer = quantizer;
        this.staticParams = staticParams;
        this.backward = backward;
    }

    /** Convenience: {@code new StraightThroughQuantize(quantizer, staticParams, backward).apply(x)}. */
    public static Tensor apply(Tensor x, FakeQuantizer quantizer, QuantParams staticParams, Backward backward) {
        return new StraightThroughQuantize(quantizer, staticParams, backward).apply(x);
    }

    /** @return the parameters used by the forward pass (null before it ran) */
    public QuantParams params() {
        return used;
    }

    @Override
    protected INDArray forward(INDArray... inputs) {
        INDArray x = inputs[0];
        long[] shape = x.shape();
        double[] v = FakeQuantizer.values(x);
        used = staticParams != null ? staticParams : quantizer.calibrate(v, shape);
        double[] y = quantizer.apply(v, shape, used);
        if (backward == Backward.CLIPPED && needsGrad(0)) {
            boolean[] in = quantizer.inRange(v, shape, used);
            double[] m = new double[in.length];
            for (int i = 0; i < m.length; i++) {
                m[i] = in[i] ? 1 : 0;
            }
            mask = FakeQuantizer.toArray(m, shape, x.dataType());
        }
        return FakeQuantizer.toArray(y, shape, x.dataType());
    }

    @Override
    protected INDArray[] backward(INDArray gradOutput) {
        return switch (backward) {
            case IDENTITY -> new INDArray[] {gradOutput};
            case CLIPPED -> new INDArray[] {gradOutput.mul(mask)};
        };
    }

    @Override
    protected void release() {
        mask = null;
    }

    @Override
    public String name() {
        return "StraightThroughQuantize(" + quantizer.format().label() + ", " + backward + ")";
    }
}
