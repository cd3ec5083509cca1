package org.lowbit4j.nn;

import java.util.SplittableRandom;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A lookup table of {@code numEmbeddings} rows of width {@code dim}. Parameter: {@code weight}
 * {@code [V, C]}.
 */
public class Embedding extends Module {
    /**
     * A table initialised normal(0, {@link Init#DEFAULT_STD}) from its own RNG.
     *
     * @param numEmbeddings V, &gt; 0
     * @param dim C, &gt; 0
     */
    public Embedding(long numEmbeddings, long dim, DataType dataType, long seed) {
        this(Init.normal(new SplittableRandom(seed), Init.DEFAULT_STD, dataType, numEmbeddings, dim));
    }

    /**
     * @param weight [V, C], not copied
     * @throws IllegalArgumentException if not 2-D
     */
    @SuppressWarnings("this-escape") // registerParameter is final and touches only Module state
    public Embedding(INDArray weight) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("Embedding weight must be [V, C], got shape "
                    + java.util.Arrays.toString(weight.shape()));
        }
        registerParameter("weight", weight);
    }

    /** @return the table [V, C] */
    public Tensor weight() {
        return parameter("weight");
    }

    /**
     * @param indices integer array of any shape S, values in [0, V)
     * @return [S..., C]
     * @throws IllegalArgumentException for an index outside [0, V)
     */
    public Tensor forward(INDArray indices) {
        return F.embedding(weight(), indices);
    }
}
