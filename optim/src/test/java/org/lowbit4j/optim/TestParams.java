package org.lowbit4j.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Small deterministic parameters and gradients for optimizer tests. */
final class TestParams {
    private TestParams() {
    }

    static float[] gaussian(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    static Tensor param(String name, Random r, long... shape) {
        int n = 1;
        for (long s : shape) {
            n *= (int) s;
        }
        INDArray v = Nd4j.create(gaussian(r, n, 1.0), shape, 'c');
        Tensor t = Tensor.parameter(v);
        return name == null ? t : t.named(name);
    }

    /** Fresh parameters with the same names, shapes and values (deep copies). */
    static List<Tensor> copy(List<Tensor> ps) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor p : ps) {
            Tensor t = Tensor.parameter(p.value().dup('c'));
            out.add(p.name() == null ? t : t.named(p.name()));
        }
        return out;
    }

    /** Sets a gaussian gradient on every parameter, drawn from {@code seed} and the step. */
    static void setGrads(List<Tensor> ps, long seed, int step) {
        Random r = new Random(seed * 1000003L + step);
        for (Tensor p : ps) {
            float[] g = gaussian(r, (int) p.value().length(), 1.0);
            p.setGrad(Nd4j.create(g, p.shape(), 'c').castTo(p.dataType()));
        }
    }

    static float[] floats(Tensor t) {
        return t.value().castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    static double[] doubles(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }
}
