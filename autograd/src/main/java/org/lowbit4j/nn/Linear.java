package org.lowbit4j.nn;

import java.util.SplittableRandom;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A linear map without bias, {@code y = x W^T}, with the weight stored {@code [out, in]} as in
 * llama2.c and PyTorch. Parameter: {@code weight}.
 */
public class Linear extends Layer {
    private final long inFeatures;
    private final long outFeatures;

    /**
     * A layer initialised normal(0, {@link Init#DEFAULT_STD}) from its own RNG.
     *
     * @param inFeatures in, &gt; 0
     * @param outFeatures out, &gt; 0
     * @param dataType FLOAT or DOUBLE
     * @param seed RNG seed of the initialisation
     */
    public Linear(long inFeatures, long outFeatures, DataType dataType, long seed) {
        this(Init.normal(new SplittableRandom(seed), Init.DEFAULT_STD, dataType, outFeatures, inFeatures));
    }

    /**
     * Wraps an existing weight (not copied) as a trainable parameter.
     *
     * @param weight [out, in], floating point
     * @throws IllegalArgumentException if the weight is not 2-D
     */
    public Linear(INDArray weight) {
        this(Tensor.parameter(weight));
    }

    /**
     * Wraps an existing tensor, trainable or frozen.
     *
     * @param weight [out, in]
     * @throws IllegalArgumentException if the weight is not 2-D
     */
    @SuppressWarnings("this-escape") // registerParameter is final and touches only Module state
    public Linear(Tensor weight) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("Linear weight must be [out, in], got shape "
                    + java.util.Arrays.toString(weight.shape()));
        }
        this.outFeatures = weight.size(0);
        this.inFeatures = weight.size(1);
        registerParameter("weight", weight);
    }

    /** @return the weight [out, in] (the current tensor, after any {@link #replaceParameter}) */
    public Tensor weight() {
        return parameter("weight");
    }

    /** @return in */
    public long inFeatures() {
        return inFeatures;
    }

    /** @return out */
    public long outFeatures() {
        return outFeatures;
    }

    /**
     * @param x [..., in]
     * @return [..., out]
     */
    @Override
    public Tensor forward(Tensor x) {
        return F.linear(x, weight());
    }
}
