package org.lowbit4j.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.optim.kernel.ClipKernel;
import org.lowbit4j.optim.kernel.FloatView;
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

    /** Gradients of assorted sizes (several chunks, tails) and magnitudes; one without a gradient. */
    private static List<Tensor> assorted(long seed) {
        Random r = new Random(seed);
        List<Tensor> ps = new ArrayList<>();
        for (int n : new int[] {3 * ClipKernel.CHUNK + 5, 17, 100_000, 1, ClipKernel.CHUNK}) {
            float[] g = new float[n];
            double scale = Math.pow(10, -4 + 4 * r.nextDouble());
            for (int i = 0; i < n; i++) {
                g[i] = (float) (r.nextGaussian() * scale);
            }
            ps.add(withGrad(g));
        }
        ps.add(2, Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 4)));
        return ps;
    }

    /** The specification: chunk sums of the scalar twin, added in index order. */
    private static double twinNorm(List<Tensor> ps) {
        double sum = 0;
        for (Tensor t : ps) {
            if (t.grad() == null) {
                continue;
            }
            MemorySegment s = FloatView.of(t.grad(), "g").segment();
            long n = t.grad().length();
            for (long from = 0; from < n; from += ClipKernel.CHUNK) {
                sum += ClipKernel.sumSquaresScalar(s, from, (int) Math.min(ClipKernel.CHUNK, n - from));
            }
        }
        return Math.sqrt(sum);
    }

    @Test
    void globalNormEqualsTheTwinBitwiseForAnyThreadCountAndAPlainDoubleSumClosely() {
        List<Tensor> ps = assorted(5);
        double twin = twinNorm(ps);
        for (int threads : new int[] {1, 2, 3, 8}) {
            assertEquals(Double.doubleToRawLongBits(twin), Double.doubleToRawLongBits(GradClip.globalNorm(ps, threads)),
                    "threads " + threads);
        }
        double plain = 0;
        for (Tensor t : ps) {
            if (t.grad() != null) {
                for (float g : t.grad().data().asFloat()) {
                    plain += (double) g * g;
                }
            }
        }
        assertEquals(Math.sqrt(plain), twin, 1e-12 * Math.sqrt(plain));
    }

    @Test
    void clippingScalesLikeNd4jsMuliAndDoesNotDependOnThreads() {
        double norm = GradClip.globalNorm(assorted(6), 1);
        double maxNorm = norm / 3.7;
        double coef = maxNorm / (norm + 1e-6);
        List<float[]> expected = new ArrayList<>();
        for (Tensor t : assorted(6)) {
            if (t.grad() != null) {
                expected.add(t.grad().dup().muli(coef).data().asFloat());
            }
        }
        for (int threads : new int[] {1, 2, 5}) {
            List<Tensor> ps = assorted(6);
            assertEquals(norm, GradClip.clipGradNorm(ps, maxNorm, threads), 0.0);
            int k = 0;
            for (Tensor t : ps) {
                if (t.grad() != null) {
                    assertArrayEquals(expected.get(k++), t.grad().data().asFloat(), "threads " + threads);
                }
            }
        }
    }

    @Test
    void doubleAndBf16GradientsAreSummedExactlyInOrder() {
        Tensor d = Tensor.parameter(Nd4j.zeros(DataType.DOUBLE, 3));
        d.setGrad(Nd4j.create(new double[] {1e-9, 3, 4}));
        Tensor bf = Tensor.parameter(Nd4j.zeros(DataType.BFLOAT16, 2));
        bf.setGrad(Nd4j.create(new float[] {12f, 0.5f}).castTo(DataType.BFLOAT16));
        double expected = Math.sqrt(((1e-9 * 1e-9 + 9) + 16) + (144 + 0.25));
        assertEquals(expected, GradClip.globalNorm(List.of(d, bf), 2), 0.0);
        assertThrows(IllegalArgumentException.class, () -> GradClip.globalNorm(List.of(d), 0));
    }
}
