package org.lowbit4j.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class AdamWTest {
    /** PyTorch's AdamW in double precision, one parameter. */
    static final class RefAdamW {
        final double[] p;
        final double[] m;
        final double[] v;
        long t;

        RefAdamW(double[] p) {
            this.p = p.clone();
            this.m = new double[p.length];
            this.v = new double[p.length];
        }

        void step(double[] g, AdamWConfig c, double lr) {
            t++;
            double bc1 = 1 - Math.pow(c.beta1(), t);
            double bc2 = 1 - Math.pow(c.beta2(), t);
            for (int i = 0; i < p.length; i++) {
                p[i] *= 1 - lr * c.weightDecay();
                m[i] = c.beta1() * m[i] + (1 - c.beta1()) * g[i];
                v[i] = c.beta2() * v[i] + (1 - c.beta2()) * g[i] * g[i];
                double denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + c.eps();
                p[i] -= lr / bc1 * m[i] / denom;
            }
        }
    }

    @Test
    void defaultsArePyTorchs() {
        assertEquals(new AdamWConfig(1e-3, 0.9, 0.999, 1e-8, 0.01), AdamWConfig.DEFAULTS);
        assertThrows(IllegalArgumentException.class, () -> AdamWConfig.DEFAULTS.withBetas(1.0, 0.999));
        assertThrows(IllegalArgumentException.class, () -> AdamWConfig.DEFAULTS.withEps(0));
        assertThrows(IllegalArgumentException.class, () -> AdamWConfig.DEFAULTS.withLr(Double.NaN));
    }

    @Test
    void matchesReferenceWithWeightDecayAndBiasCorrectionAndSkipsNullGrads() {
        Random r = new Random(1);
        List<Tensor> ps = List.of(TestParams.param("w", r, 3, 5), TestParams.param("b", r, 7),
                TestParams.param(null, r, 2, 3, 4));
        var cfg = new AdamWConfig(0.01, 0.8, 0.95, 1e-6, 0.1);
        var opt = new AdamW(ps, cfg, UpdateOptions.DEFAULTS.withThreads(1));
        RefAdamW[] ref = ps.stream().map(p -> new RefAdamW(TestParams.doubles(p.value()))).toArray(RefAdamW[]::new);
        for (int step = 0; step < 6; step++) {
            double lr = 0.01 * (1 + step % 3);
            opt.setLr(lr);
            TestParams.setGrads(ps, 7, step);
            if (step == 2) {
                ps.get(1).zeroGrad(); // skipped: its value and step count stay
            }
            for (int i = 0; i < ps.size(); i++) {
                if (ps.get(i).grad() != null) {
                    ref[i].step(TestParams.doubles(ps.get(i).grad()), cfg, lr);
                }
            }
            opt.step();
            for (int i = 0; i < ps.size(); i++) {
                float[] got = TestParams.floats(ps.get(i));
                for (int k = 0; k < got.length; k++) {
                    assertEquals(ref[i].p[k], got[k], 2e-6 * (1 + Math.abs(ref[i].p[k])),
                            "param " + i + " element " + k + " step " + step);
                }
            }
        }
        assertEquals(6, opt.steps());
        assertEquals(6, opt.parameterSteps(0));
        assertEquals(5, opt.parameterSteps(1));
        assertEquals("fp32", opt.stateFormat(0));
        assertEquals(8L * (15 + 7 + 24) + 3 * 8, opt.stateBytes());
    }

    @Test
    void threadCountDoesNotChangeResults() {
        Random r = new Random(2);
        List<Tensor> a = List.of(TestParams.param("big", r, 300, 257), TestParams.param("small", r, 33));
        List<Tensor> b = TestParams.copy(a);
        var o1 = new AdamW(a, AdamWConfig.DEFAULTS, UpdateOptions.DEFAULTS.withThreads(1));
        var o2 = new AdamW(b, AdamWConfig.DEFAULTS, UpdateOptions.DEFAULTS.withThreads(3));
        for (int s = 0; s < 3; s++) {
            TestParams.setGrads(a, 3, s);
            TestParams.setGrads(b, 3, s);
            o1.step();
            o2.step();
        }
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(TestParams.floats(a.get(i)), TestParams.floats(b.get(i)));
        }
    }

    @Test
    void minimisesAQuadratic() {
        // f(x) = sum (x - target)^2, gradient 2 (x - target)
        INDArray target = Nd4j.create(new float[] {3f, -2f, 0.5f, 10f, -7f});
        Tensor x = Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 5)).named("x");
        var opt = new AdamW(List.of(x), AdamWConfig.DEFAULTS.withLr(0.1).withWeightDecay(0));
        var schedule = new LrSchedule.WarmupCosine(0.1, 0.001, 10, 1500);
        for (int s = 0; s < 1500; s++) {
            x.setGrad(x.value().sub(target).muli(2));
            opt.setLr(schedule.lr(s));
            opt.step();
        }
        float[] got = x.value().data().asFloat();
        float[] want = target.data().asFloat();
        for (int i = 0; i < 5; i++) {
            assertEquals(want[i], got[i], 1e-2, "x[" + i + "]");
        }
    }

    @Test
    void updatesStridedViewsAndOtherDataTypesThroughCopies() {
        Random r = new Random(4);
        float[] base = TestParams.gaussian(r, 12, 1);
        float[] grad = TestParams.gaussian(r, 12, 1);
        // Dense reference.
        Tensor dense = Tensor.parameter(Nd4j.create(base.clone(), new long[] {3, 4}, 'c'));
        dense.setGrad(Nd4j.create(grad.clone(), new long[] {3, 4}, 'c'));
        new AdamW(List.of(dense), AdamWConfig.DEFAULTS.withLr(0.1)).step();
        // The same logical matrix stored transposed ('f' order view): not dense C, so updated via a copy.
        INDArray storage = Nd4j.create(base.clone(), new long[] {3, 4}, 'c').transpose().dup('c');
        INDArray view = storage.transpose();
        Tensor strided = Tensor.parameter(view);
        strided.setGrad(Nd4j.create(grad.clone(), new long[] {3, 4}, 'c'));
        new AdamW(List.of(strided), AdamWConfig.DEFAULTS.withLr(0.1)).step();
        assertArrayEquals(TestParams.floats(dense), view.dup('c').data().asFloat());
        // Double parameters: updated in float32 then stored back.
        Tensor dbl = Tensor.parameter(Nd4j.create(base.clone(), new long[] {3, 4}, 'c').castTo(DataType.DOUBLE));
        dbl.setGrad(Nd4j.create(grad.clone(), new long[] {3, 4}, 'c').castTo(DataType.DOUBLE));
        new AdamW(List.of(dbl), AdamWConfig.DEFAULTS.withLr(0.1)).step();
        assertArrayEquals(TestParams.floats(dense), TestParams.floats(dbl));
    }

    @Test
    void bf16ParametersRoundToNearestOrStochastically() {
        int n = 20000;
        // 1.0 in bf16; an update of lr * ~1 = 1e-3 is well below half an ulp (2^-8 = 0.0039).
        INDArray v1 = Nd4j.ones(DataType.BFLOAT16, n);
        INDArray v2 = Nd4j.ones(DataType.BFLOAT16, n);
        Tensor a = Tensor.parameter(v1).named("a");
        Tensor b = Tensor.parameter(v2).named("b");
        var cfg = AdamWConfig.DEFAULTS.withLr(1e-3).withWeightDecay(0);
        var nearest = new AdamW(List.of(a), cfg);
        var stochastic = new AdamW(List.of(b), cfg, UpdateOptions.DEFAULTS.withStochasticRounding(42));
        a.setGrad(Nd4j.ones(DataType.BFLOAT16, n));
        b.setGrad(Nd4j.ones(DataType.BFLOAT16, n));
        nearest.step();
        stochastic.step();
        assertEquals(DataType.BFLOAT16, a.value().dataType());
        float[] av = TestParams.floats(a);
        float[] bv = TestParams.floats(b);
        for (float x : av) {
            assertEquals(1f, x, "nearest rounding loses the small update");
        }
        // Stochastic: 1 - 1e-3 lies between 1 - 2^-8 and 1: it rounds down with probability ~0.256.
        double mean = 0;
        int moved = 0;
        for (float x : bv) {
            mean += x;
            if (x != 1f) {
                moved++;
                assertEquals(1f - 1f / 256, x);
            }
        }
        mean /= n;
        assertEquals(1 - 1e-3, mean, 2e-4, "stochastic rounding is unbiased");
        assertTrue(moved > n / 5 && moved < n / 3, "moved " + moved);
    }

    @Test
    void rejectsBadParameterLists() {
        Random r = new Random(5);
        Tensor p = TestParams.param("p", r, 4);
        assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(), AdamWConfig.DEFAULTS));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(p, p), AdamWConfig.DEFAULTS));
        Tensor q = TestParams.param("p", r, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(p, q), AdamWConfig.DEFAULTS));
        assertTrue(e.getMessage().contains("'p'"), e.getMessage());
        Tensor c = Tensor.constant(Nd4j.zeros(DataType.FLOAT, 3));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(c), AdamWConfig.DEFAULTS));
        assertNotEquals(null, p.name());
    }
}
