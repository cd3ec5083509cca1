package org.lowbit4j.autograd;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Deterministic random arrays for the engine's tests (java.util.Random, not ND4J's generator). */
final class TestArrays {
    private TestArrays() {
    }

    /** @return DOUBLE values uniform in [lo, hi) */
    static INDArray uniform(long seed, double lo, double hi, long... shape) {
        Random r = new Random(seed);
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * r.nextDouble();
        }
        return Nd4j.createFromArray(v).reshape(shape);
    }

    /** @return a DOUBLE parameter with values uniform in [-1, 1) */
    static Tensor param(long seed, long... shape) {
        return Tensor.parameter(uniform(seed, -1, 1, shape));
    }

    /** @return a DOUBLE parameter with values uniform in [lo, hi) */
    static Tensor param(long seed, double lo, double hi, long... shape) {
        return Tensor.parameter(uniform(seed, lo, hi, shape));
    }

    /** @return an INT64 array of the given values and shape */
    static INDArray longs(long[] values, long... shape) {
        return Nd4j.createFromArray(values).reshape(shape);
    }

    /** @return an array's values as a flat double array (C order) */
    static double[] flat(INDArray a) {
        return a.dup('c').castTo(DataType.DOUBLE).reshape(a.length()).toDoubleVector();
    }
}
