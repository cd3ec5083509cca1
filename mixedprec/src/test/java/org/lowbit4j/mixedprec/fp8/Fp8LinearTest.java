package org.lowbit4j.mixedprec.fp8;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lowbit4j.mixedprec.fp8.Fp8TestSupport.amax;
import static org.lowbit4j.mixedprec.fp8.Fp8TestSupport.gaussian;
import static org.lowbit4j.mixedprec.fp8.Fp8TestSupport.referenceQdq;

import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.Fp8;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class Fp8LinearTest {
    private static Fp8Linear fresh(Fp8Format format) {
        Fp8Recipe r = Fp8Recipe.defaults().withFormat(format);
        return new Fp8Linear(new Fp8TensorMeta(r), new Fp8TensorMeta(r), new Fp8TensorMeta(r), format);
    }

    @Test
    void forwardEqualsQuantizedOperandsTimesADoubleProduct() {
        INDArray x = gaussian(1, 1.5, 2, 3, 5); // [B, T, in]
        INDArray w = gaussian(2, 0.2, 4, 5); // [out, in]
        Tensor y = fresh(Fp8Format.HYBRID).apply(Tensor.constant(x), Tensor.constant(w)); // [B, T, out]
        assertArrayEquals(new long[] {2, 3, 4}, y.shape());
        // first call: just-in-time scales from each operand's own amax
        INDArray xq = referenceQdq(x, Fp8.E4M3FN, 448f / amax(x)).reshape(6, 5);
        INDArray wq = referenceQdq(w, Fp8.E4M3FN, 448f / amax(w));
        INDArray got = y.value().reshape(6, 4);
        double worst = 0;
        for (int n = 0; n < 6; n++) {
            for (int o = 0; o < 4; o++) {
                double ref = 0;
                double mag = 0;
                for (int k = 0; k < 5; k++) {
                    double t = (double) xq.getFloat(n, k) * wq.getFloat(o, k);
                    ref += t;
                    mag += Math.abs(t);
                }
                assertEquals(ref, got.getFloat(n, o), 1e-6 * mag + 1e-30, "y[" + n + ", " + o + "]");
                double plain = 0;
                for (int k = 0; k < 5; k++) {
                    plain += (double) x.reshape(6, 5).getFloat(n, k) * w.getFloat(o, k);
                }
                worst = Math.max(worst, Math.abs(plain - got.getFloat(n, o)));
            }
        }
        assertTrue(worst > 1e-4, "FP8 rounding must be visible against the fp32 product, worst diff " + worst);
    }

    /** The STE structure: backward is the linear backward evaluated on the quantized operands. */
    @Test
    void backwardIsTheLinearBackwardOnQuantizedOperands() {
        INDArray x = gaussian(3, 1.0, 3, 7, 6); // [B, T, in]
        INDArray w = gaussian(4, 0.3, 5, 6); // [out, in]
        INDArray g = gaussian(5, 1e-3, 3, 7, 5); // [B, T, out]
        Tensor xt = Tensor.parameter(x.dup());
        Tensor wt = Tensor.parameter(w.dup());
        fresh(Fp8Format.HYBRID).apply(xt, wt).backward(g);

        INDArray xq = referenceQdq(x, Fp8.E4M3FN, 448f / amax(x));
        INDArray wq = referenceQdq(w, Fp8.E4M3FN, 448f / amax(w));
        INDArray gq = referenceQdq(g, Fp8.E5M2, 57344f / amax(g));
        Tensor xr = Tensor.parameter(xq);
        Tensor wr = Tensor.parameter(wq);
        F.linear(xr, wr).backward(gq);
        assertEquals(xr.grad(), xt.grad(), "dx = g_q W_q");
        assertEquals(wr.grad(), wt.grad(), "dW = g_q^T x_q");

        // and it is not the fp32 backward
        Tensor xp = Tensor.parameter(x.dup());
        Tensor wp = Tensor.parameter(w.dup());
        F.linear(xp, wp).backward(g);
        assertNotEquals(xp.grad(), xt.grad());
    }

    @Test
    void hybridRoundsGradientsToE5m2AndE4m3FormatToE4m3() {
        int n = 4;
        INDArray eye = Nd4j.eye(n).castTo(DataType.FLOAT); // quantizes exactly: dx = g_q
        INDArray x = gaussian(6, 1.0, 1, n);
        INDArray g = Nd4j.createFromArray(new float[][] {{1f, 0x1p-20f, -0.25f, 3e-5f}});
        INDArray[] dx = new INDArray[2];
        Fp8Format[] formats = {Fp8Format.HYBRID, Fp8Format.E4M3};
        for (int i = 0; i < 2; i++) {
            Tensor xt = Tensor.parameter(x.dup());
            fresh(formats[i]).apply(xt, Tensor.constant(eye)).backward(g);
            dx[i] = xt.grad();
        }
        assertEquals(referenceQdq(g, Fp8.E5M2, 57344f), dx[0]);
        assertEquals(referenceQdq(g, Fp8.E4M3FN, 448f), dx[1]);
        assertEquals(0x1p-20f, dx[0].getFloat(0, 1), "E5M2 keeps 2^-20 at scale 57344");
        assertEquals(0f, dx[1].getFloat(0, 1), "E4M3 flushes it to zero at scale 448");
    }

    @Test
    void frozenWeightGetsNoGradientAndGradientMetaRecordsOnlyInBackward() {
        Fp8Recipe r = Fp8Recipe.defaults();
        var mx = new Fp8TensorMeta(r);
        var mw = new Fp8TensorMeta(r);
        var mg = new Fp8TensorMeta(r);
        Tensor x = Tensor.parameter(gaussian(7, 1.0, 2, 3));
        Tensor w = Tensor.constant(gaussian(8, 1.0, 4, 3));
        Tensor y = new Fp8Linear(mx, mw, mg, Fp8Format.HYBRID).apply(x, w);
        assertEquals(1, mx.calls());
        assertEquals(1, mw.calls());
        assertEquals(0, mg.calls());
        y.backward(Nd4j.ones(DataType.FLOAT, 2, 4));
        assertEquals(1, mg.calls());
        assertEquals(1f, mg.lastAmax());
        assertNull(w.grad());
        assertArrayEquals(new long[] {2, 3}, x.grad().shape());
    }

    @Test
    void rejectsBadShapesAndDouble() {
        Tensor x = Tensor.constant(gaussian(1, 1, 2, 3));
        assertThrows(IllegalArgumentException.class,
                () -> fresh(Fp8Format.HYBRID).apply(x, Tensor.constant(gaussian(1, 1, 4, 2))));
        assertThrows(IllegalArgumentException.class,
                () -> fresh(Fp8Format.HYBRID).apply(x, Tensor.constant(gaussian(1, 1, 2, 4, 3))));
        assertThrows(IllegalArgumentException.class, () -> fresh(Fp8Format.HYBRID)
                .apply(Tensor.constant(Nd4j.zeros(DataType.DOUBLE, 2, 3)), Tensor.constant(Nd4j.zeros(DataType.DOUBLE, 4, 3))));
    }
}
