package org.lowbit4j.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lowbit4j.autograd.Tensor;

class SgdTest {
    @ParameterizedTest
    @CsvSource({"0,0,0,false", "0,0,0.1,false", "0.9,0,0,false", "0.9,0.3,0.05,false", "0.9,0,0.05,true"})
    void matchesPyTorchsSgd(double momentum, double dampening, double wd, boolean nesterov) {
        Random r = new Random(11);
        List<Tensor> ps = List.of(TestParams.param("w", r, 4, 9), TestParams.param("b", r, 70));
        var cfg = new SgdConfig(0.05, momentum, dampening, wd, nesterov);
        var opt = new Sgd(ps, cfg, UpdateOptions.DEFAULTS.withThreads(2));
        double[][] p = ps.stream().map(t -> TestParams.doubles(t.value())).toArray(double[][]::new);
        double[][] buf = new double[ps.size()][];
        for (int s = 0; s < 5; s++) {
            TestParams.setGrads(ps, 5, s);
            for (int i = 0; i < ps.size(); i++) {
                double[] g = TestParams.doubles(ps.get(i).grad());
                for (int k = 0; k < g.length; k++) {
                    double d = g[k] + wd * p[i][k];
                    if (momentum != 0) {
                        if (buf[i] == null) {
                            buf[i] = new double[g.length];
                            buf[i][k] = d;
                        } else if (s == 0) {
                            buf[i][k] = d;
                        } else {
                            buf[i][k] = momentum * buf[i][k] + (1 - dampening) * d;
                        }
                        d = nesterov ? d + momentum * buf[i][k] : buf[i][k];
                    }
                    p[i][k] -= 0.05 * d;
                }
            }
            opt.step();
            for (int i = 0; i < ps.size(); i++) {
                float[] got = TestParams.floats(ps.get(i));
                for (int k = 0; k < got.length; k++) {
                    assertEquals(p[i][k], got[k], 1e-5 * (1 + Math.abs(p[i][k])), "param " + i + "[" + k + "] step " + s);
                }
            }
        }
        assertEquals(momentum == 0 ? 0 : 4L * (36 + 70), opt.stateBytes());
    }

    @org.junit.jupiter.api.Test
    void validatesConfig() {
        assertThrows(IllegalArgumentException.class, () -> new SgdConfig(0.1, 0, 0, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new SgdConfig(0.1, 0.9, 0.1, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new SgdConfig(-1, 0, 0, 0, false));
        assertThrows(IllegalArgumentException.class, () -> new SgdConfig(0.1, 1.5, 0, 0, false));
    }
}
