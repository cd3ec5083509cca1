package org.lowbit4j.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class GradClipTest {
    private static Tensor withGrad(float... g) {
        Tensor t = Tensor.parameter(Nd4j.zeros(DataType.FLOAT, g.length));
        t.setGrad(Nd4j.create(g));
        return t;
    }

    @Test
    void clipsByGlobalNormAndReturnsThePreClipNorm() {
        // ||(3, 4, 12)|| = 13, split over two tensors, plus one without a gradient.
        Tensor a = withGrad(3f, 4f);
        Tensor b = withGrad(12f);
        Tensor none = Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 2));
        double norm = GradClip.clipGradNorm(List.of(a, none, b), 6.5);
        assertEquals(13.0, norm, 0.0);
        double coef = 6.5 / (13 + 1e-6);
        assertArrayEquals(new float[] {(float) (3 * coef), (float) (4 * coef)}, a.grad().data().asFloat(), 1e-6f);
        assertEquals(6.5, GradClip.globalNorm(List.of(a, b)), 1e-5);
    }

    @Test
    void leavesSmallAndNonFiniteGradientsAlone() {
        Tensor a = withGrad(3f, 4f);
        assertEquals(5.0, GradClip.clipGradNorm(List.of(a), 5.0), 0.0);
        assertArrayEquals(new float[] {3f, 4f}, a.grad().data().asFloat());
        Tensor n = withGrad(Float.NaN, 1f);
        assertTrue(Double.isNaN(GradClip.clipGradNorm(List.of(n), 1.0)));
        assertEquals(1f, n.grad().data().asFloat()[1]);
        assertThrows(IllegalArgumentException.class, () -> GradClip.clipGradNorm(List.of(a), 0));
    }

    @Test
    void sumsInDoubleInListOrder() {
        // 1e8 then many ones: a float sum would lose them, a double sum in order keeps them exactly.
        float[] ones = new float[1000];
        java.util.Arrays.fill(ones, 1f);
        Tensor big = withGrad(1e4f);
        Tensor small = withGrad(ones);
        assertEquals(Math.sqrt(1e8 + 1000), GradClip.globalNorm(List.of(big, small)), 0.0);
        Tensor bf = Tensor.parameter(Nd4j.zeros(DataType.BFLOAT16, 2));
        bf.setGrad(Nd4j.create(new float[] {3f, 4f}).castTo(DataType.BFLOAT16));
        assertEquals(5.0, GradClip.globalNorm(List.of(bf)), 0.0);
    }
}
