package org.lowbit4j.nn;

import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * RMSNorm over the last axis: {@code x * rsqrt(mean(x^2) + eps) * weight}. Parameter:
 * {@code weight} {@code [C]}, initialised to ones.
 */
public class RmsNorm extends Layer {
    /** llama2.c's epsilon. */
    public static final double DEFAULT_EPS = 1e-5;

    private final double eps;

    /**
     * @param dim C, &gt; 0
     * @param eps added to the mean square, &gt; 0 (default {@link #DEFAULT_EPS})
     * @throws IllegalArgumentException for a non-positive dim or eps
     */
    @SuppressWarnings("this-escape") // registerParameter is final and touches only Module state
    public RmsNorm(long dim, double eps, DataType dataType) {
        if (!(eps > 0)) {
            throw new IllegalArgumentException("RmsNorm eps must be > 0, got " + eps);
        }
        this.eps = eps;
        registerParameter("weight", Init.full(1.0, dataType, dim));
    }

    /** @return the gain [C] */
    public Tensor weight() {
        return parameter("weight");
    }

    /** @return epsilon */
    public double eps() {
        return eps;
    }

    /**
     * @param x [..., C]
     * @return [..., C]
     */
    @Override
    public Tensor forward(Tensor x) {
        return F.rmsNorm(x, weight(), eps);
    }
}
