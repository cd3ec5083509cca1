package org.lowbit4j.nn;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Deterministic seeded initialisation: values come from our own {@link SplittableRandom} (never
 * ND4J's global RNG), are generated into a Java array in row-major order, then copied into an
 * INDArray. The same seed gives the same bits on every run and platform of the same JDK.
 *
 * <p>The default scheme for weights is normal(0, 0.02), as nanoGPT's and llama2.c's
 * {@code train.py} use; norm weights start at 1.
 */
public final class Init {
    /** Standard deviation of nanoGPT / llama2.c weight initialisation. */
    public static final double DEFAULT_STD = 0.02;

    private Init() {
    }

    /**
     * @param rng the random source (advanced by {@code product(shape)} gaussian draws)
     * @param std standard deviation, &ge; 0
     * @param dataType FLOAT or DOUBLE
     * @param shape the shape; row-major
     * @return a new C-ordered array of normal(0, std) values
     * @throws IllegalArgumentException for a negative std, a non-float type or more than 2^31-1 elements
     */
    public static INDArray normal(SplittableRandom rng, double std, DataType dataType, long... shape) {
        if (!(std >= 0)) {
            throw new IllegalArgumentException("std must be >= 0, got " + std);
        }
        int n = checkedLength(shape);
        return switch (dataType) {
            case DOUBLE -> {
                double[] a = new double[n];
                for (int i = 0; i < n; i++) {
                    a[i] = std * rng.nextGaussian();
                }
                yield Nd4j.create(a, shape, 'c');
            }
            case FLOAT -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) {
                    a[i] = (float) (std * rng.nextGaussian());
                }
                yield Nd4j.create(a, shape, 'c');
            }
            default -> throw new IllegalArgumentException("initialisation supports FLOAT and DOUBLE, got " + dataType);
        };
    }

    /**
     * Refills {@code target} in place with normal(0, std) values (row-major order).
     *
     * @param target a FLOAT or DOUBLE array
     */
    public static void normal_(INDArray target, SplittableRandom rng, double std) {
        target.assign(normal(rng, std, target.dataType(), target.shape()));
    }

    /**
     * @return a new C-ordered array filled with {@code value}
     */
    public static INDArray full(double value, DataType dataType, long... shape) {
        checkedLength(shape);
        return Nd4j.valueArrayOf(shape, value, dataType);
    }

    static int checkedLength(long... shape) {
        long n = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("dimensions must be positive, got " + java.util.Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("tensor of shape " + java.util.Arrays.toString(shape)
                        + " has more than 2^31 elements; not supported");
            }
        }
        return (int) n;
    }
}
