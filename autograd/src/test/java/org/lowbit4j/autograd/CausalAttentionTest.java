package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The fused causal grouped-query attention against plain loops, causality and gradient checks. */
class CausalAttentionTest {

    /** Plain-Java reference: out[b,t,h,:] = sum_{s<=t} softmax_s(q.k / sqrt(D)) v[b,s,h/(H/K),:]. */
    static double[][][][] reference(INDArray q, INDArray k, INDArray v) {
        int b = (int) q.size(0), t = (int) q.size(1), h = (int) q.size(2), d = (int) q.size(3);
        int kv = (int) k.size(2);
        double[][][][] out = new double[b][t][h][d];
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                int ki = hi / (h / kv);
                for (int ti = 0; ti < t; ti++) {
                    double[] s = new double[ti + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int si = 0; si <= ti; si++) {
                        double dot = 0;
                        for (int di = 0; di < d; di++) {
                            dot += q.getDouble(bi, ti, hi, di) * k.getDouble(bi, si, ki, di);
                        }
                        s[si] = dot / Math.sqrt(d);
                        max = Math.max(max, s[si]);
                    }
                    double z = 0;
                    for (int si = 0; si <= ti; si++) {
                        s[si] = Math.exp(s[si] - max);
                        z += s[si];
                    }
                    for (int si = 0; si <= ti; si++) {
                        for (int di = 0; di < d; di++) {
                            out[bi][ti][hi][di] += s[si] / z * v.getDouble(bi, si, ki, di);
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void valuesAgainstLoopGrouped() {
        for (int[] cfg : new int[][] {{2, 5, 4, 2, 3}, {1, 4, 3, 3, 2}, {2, 1, 2, 1, 4}}) {
            INDArray q = TestArrays.uniform(80, -2, 2, cfg[0], cfg[1], cfg[2], cfg[4]);
            INDArray k = TestArrays.uniform(81, -2, 2, cfg[0], cfg[1], cfg[3], cfg[4]);
            INDArray v = TestArrays.uniform(82, -2, 2, cfg[0], cfg[1], cfg[3], cfg[4]);
            INDArray y = F.causalAttention(Tensor.constant(q), Tensor.constant(k), Tensor.constant(v)).value();
            double[][][][] ref = reference(q, k, v);
            for (int b = 0; b < cfg[0]; b++) {
                for (int t = 0; t < cfg[1]; t++) {
                    for (int h = 0; h < cfg[2]; h++) {
                        for (int d = 0; d < cfg[4]; d++) {
                            assertEquals(ref[b][t][h][d], y.getDouble(b, t, h, d), 1e-13);
                        }
                    }
                }
            }
        }
    }

    @Test
    void futureTokensDoNotChangeEarlierOutputs() {
        INDArray q = TestArrays.uniform(83, -1, 1, 1, 6, 4, 3);
        INDArray k = TestArrays.uniform(84, -1, 1, 1, 6, 2, 3);
        INDArray v = TestArrays.uniform(85, -1, 1, 1, 6, 2, 3);
        INDArray y = F.causalAttention(Tensor.constant(q), Tensor.constant(k), Tensor.constant(v)).value();
        INDArray q2 = q.dup();
        INDArray k2 = k.dup();
        INDArray v2 = v.dup();
        for (int t = 4; t < 6; t++) {
            for (int d = 0; d < 3; d++) {
                q2.putScalar(new long[] {0, t, 1, d}, 5.0);
                k2.putScalar(new long[] {0, t, 0, d}, -7.0);
                v2.putScalar(new long[] {0, t, 1, d}, 9.0);
            }
        }
        INDArray y2 = F.causalAttention(Tensor.constant(q2), Tensor.constant(k2), Tensor.constant(v2)).value();
        for (int t = 0; t < 6; t++) {
            for (int h = 0; h < 4; h++) {
                for (int d = 0; d < 3; d++) {
                    if (t < 4) {
                        assertEquals(y.getDouble(0, t, h, d), y2.getDouble(0, t, h, d), 0.0, "t=" + t);
                    }
                }
            }
        }
        assertEquals(false, y.equalsWithEps(y2, 1e-6), "later outputs must see the change");
    }

    @Test
    void gradientsMultiHead() {
        Tensor q = param(86, 2, 4, 2, 3);
        Tensor k = param(87, 2, 4, 2, 3);
        Tensor v = param(88, 2, 4, 2, 3);
        GradientCheck.assertGradients("attention H=K", () -> F.causalAttention(q, k, v), q, k, v);
    }

    @Test
    void gradientsGroupedQuery() {
        Tensor q = param(89, 1, 4, 4, 3);
        Tensor k = param(90, 1, 4, 2, 3);
        Tensor v = param(91, 1, 4, 2, 3);
        GradientCheck.assertGradients("attention H=2K", () -> F.causalAttention(F.scale(q, 2), k, v), q, k, v);
    }

    @Test
    void gradientsSingleStep() {
        Tensor q = param(92, 2, 1, 2, 4);
        Tensor k = param(93, 2, 1, 1, 4);
        Tensor v = param(94, 2, 1, 1, 4);
        GradientCheck.assertGradients("attention T=1", () -> F.causalAttention(q, k, v), q, k, v);
    }

    @Test
    void onlyRequestedGradients() {
        Tensor q = Tensor.constant(TestArrays.uniform(95, -1, 1, 1, 3, 2, 2));
        Tensor k = Tensor.constant(TestArrays.uniform(96, -1, 1, 1, 3, 1, 2));
        Tensor v = param(97, 1, 3, 1, 2);
        GradientCheck.assertGradients("attention dV only", () -> F.causalAttention(q, k, v), v);
    }

    @Test
    void floatPathMatchesDouble() {
        // FLOAT runs the Vector API softmax kernels; T = 37 exercises their tail loops
        INDArray qd = TestArrays.uniform(98, -2, 2, 2, 37, 4, 8);
        INDArray kd = TestArrays.uniform(99, -2, 2, 2, 37, 2, 8);
        INDArray vd = TestArrays.uniform(100, -2, 2, 2, 37, 2, 8);
        INDArray seed = TestArrays.uniform(101, -1, 1, 2, 37, 4, 8);
        Tensor[] dbl = {Tensor.parameter(qd), Tensor.parameter(kd), Tensor.parameter(vd)};
        Tensor[] flt = {Tensor.parameter(qd.castTo(DataType.FLOAT)), Tensor.parameter(kd.castTo(DataType.FLOAT)),
            Tensor.parameter(vd.castTo(DataType.FLOAT))};
        Tensor yd = F.causalAttention(dbl[0], dbl[1], dbl[2]);
        Tensor yf = F.causalAttention(flt[0], flt[1], flt[2]);
        assertEquals(0.0, yf.value().castTo(DataType.DOUBLE).sub(yd.value()).amaxNumber().doubleValue(), 2e-5);
        yd.backward(seed);
        yf.backward(seed.castTo(DataType.FLOAT));
        for (int i = 0; i < 3; i++) {
            assertEquals(0.0, flt[i].grad().castTo(DataType.DOUBLE).sub(dbl[i].grad()).amaxNumber().doubleValue(), 1e-4,
                    "gradient " + i);
        }
    }

    @Test
    void floatAndShapeErrors() {
        Tensor q = Tensor.parameter(Nd4j.rand(DataType.FLOAT, 2, 8, 4, 8));
        Tensor k = Tensor.parameter(Nd4j.rand(DataType.FLOAT, 2, 8, 2, 8));
        Tensor v = Tensor.parameter(Nd4j.rand(DataType.FLOAT, 2, 8, 2, 8));
        Tensor y = F.causalAttention(q, k, v);
        assertEquals(DataType.FLOAT, y.dataType());
        F.sum(y, false).backward();
        assertEquals(DataType.FLOAT, k.grad().dataType());
        assertThrows(IllegalArgumentException.class,
                () -> F.causalAttention(param(1, 1, 2, 3, 2), param(2, 1, 2, 2, 2), param(3, 1, 2, 2, 2)));
        assertThrows(IllegalArgumentException.class,
                () -> F.causalAttention(param(1, 1, 2, 2, 2), param(2, 1, 3, 2, 2), param(3, 1, 3, 2, 2)));
    }
}
