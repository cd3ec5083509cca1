package org.lowbit4j.mixedprec.fp8;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.mixedprec.fp8.Fp8Recipe.AmaxCompute;
import org.lowbit4j.mixedprec.fp8.Fp8Recipe.Scaling;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class Fp8TensorMetaTest {
    private static final float E4M3_MAX = 448f;

    /** 37 random values in (-amax, amax) plus one entry of exactly -amax: the tensor's amax is {@code amax}. */
    private static INDArray tensorWithAmax(float amax, long seed) {
        var rnd = new Random(seed);
        float[] v = new float[38];
        for (int i = 0; i < 37; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * amax * 0.99);
        }
        v[37] = -amax;
        return Nd4j.createFromArray(v).reshape(2, 19);
    }

    /** Runs the sequence through one meta and returns the scale each call used. */
    private static float[] scalesUsed(Fp8Recipe recipe, float... amaxes) {
        var meta = new Fp8TensorMeta(recipe);
        float[] used = new float[amaxes.length];
        for (int i = 0; i < amaxes.length; i++) {
            INDArray x = tensorWithAmax(amaxes[i], i);
            INDArray y = meta.quantizeDequantize(x, Fp8.E4M3FN);
            used[i] = meta.scale();
            assertEquals(1f / used[i], meta.scaleInv());
            // the output is the codec's rounding at exactly that scale
            float[] xs = x.reshape(x.length()).toFloatVector();
            float[] ys = y.reshape(y.length()).toFloatVector();
            for (int j = 0; j < xs.length; j++) {
                float want = Fp8.E4M3FN.decode(Fp8.E4M3FN.encode(xs[j] * used[i], true)) * (1f / used[i]);
                assertEquals(want, ys[j], "call " + i + " element " + j);
            }
            assertEquals(amaxes[i], meta.lastAmax());
        }
        return used;
    }

    private static Fp8Recipe recipe(int len, AmaxCompute compute) {
        return Fp8Recipe.defaults().withAmaxHistoryLen(len).withAmaxCompute(compute);
    }

    @Test
    void delayedMaxUsesThePreviousCallsOnlyAndForgetsAfterTheHistoryLength() {
        // history length 3; amaxes 1, 4, 2, 0.5, 0.25, 1, 1
        float[] s = scalesUsed(recipe(3, AmaxCompute.MAX), 1f, 4f, 2f, 0.5f, 0.25f, 1f, 1f);
        assertEquals(E4M3_MAX / 1f, s[0], "first call: just in time from its own amax (empty history)");
        assertEquals(E4M3_MAX / 1f, s[1], "call 2 must use the history {1}, not its own amax 4");
        assertEquals(E4M3_MAX / 4f, s[2], "max{1, 4}");
        assertEquals(E4M3_MAX / 4f, s[3], "max{1, 4, 2}");
        assertEquals(E4M3_MAX / 4f, s[4], "max{4, 2, 0.5}: 1 fell out of the window");
        assertEquals(E4M3_MAX / 2f, s[5], "max{2, 0.5, 0.25}: 4 fell out of the window");
        assertEquals(E4M3_MAX / 1f, s[6], "max{0.5, 0.25, 1}");
    }

    @Test
    void delayedMostRecentUsesTheLatestPreviousAmax() {
        float[] s = scalesUsed(recipe(3, AmaxCompute.MOST_RECENT), 1f, 4f, 2f, 0.5f, 0.25f, 1f);
        assertArrayEquals(new float[] {E4M3_MAX, E4M3_MAX / 1f, E4M3_MAX / 4f, E4M3_MAX / 2f, E4M3_MAX / 0.5f,
            E4M3_MAX / 0.25f}, s);
    }

    @Test
    void historyHoldsTheLastAmaxesOldestFirst() {
        var meta = new Fp8TensorMeta(recipe(3, AmaxCompute.MAX));
        float[] amaxes = {1f, 4f, 2f, 0.5f, 0.25f};
        for (int i = 0; i < amaxes.length; i++) {
            meta.quantizeDequantize(tensorWithAmax(amaxes[i], i), Fp8.E4M3FN);
        }
        assertArrayEquals(new float[] {2f, 0.5f, 0.25f}, meta.amaxHistory());
        assertEquals(2f, meta.historyAmax());
        assertEquals(5, meta.calls());
    }

    @Test
    void delayedScaleLagsSoAJumpSaturatesForOneCall() {
        var meta = new Fp8TensorMeta(Fp8Recipe.defaults());
        meta.quantizeDequantize(tensorWithAmax(1f, 1), Fp8.E4M3FN);
        INDArray y = meta.quantizeDequantize(tensorWithAmax(4f, 2), Fp8.E4M3FN);
        // scale 448 from the previous amax 1: 4 * 448 saturates to 448, i.e. 1 after dequantization
        assertEquals(1f, y.amaxNumber().floatValue());
        assertEquals(-1f, y.getFloat(1, 18)); // the -4 entry
        INDArray z = meta.quantizeDequantize(tensorWithAmax(4f, 3), Fp8.E4M3FN);
        assertEquals(4f, z.amaxNumber().floatValue(), "scale caught up from the history");
    }

    @Test
    void marginAndPowerOfTwoRounding() {
        float[] s = scalesUsed(recipe(4, AmaxCompute.MAX).withMargin(2), 3f, 3f);
        assertEquals(E4M3_MAX / 4f / 3f, s[0]);
        assertEquals(E4M3_MAX / 4f / 3f, s[1]);
        float[] p = scalesUsed(recipe(4, AmaxCompute.MAX).withPowerOfTwoScale(true), 3f, 3f, 0.1f, 0.1f);
        assertEquals(128f, p[0], "448 / 3 = 149.3 rounds down to 128");
        assertEquals(128f, p[1]);
        assertEquals(128f, p[2], "history max is still 3");
        float[] q = scalesUsed(recipe(1, AmaxCompute.MAX).withPowerOfTwoScale(true).withMargin(1), 3f, 0.1f, 0.1f);
        assertEquals(64f, q[0], "224 / 3 = 74.7 rounds down to 64");
        assertEquals(64f, q[1]);
        assertEquals(2048f, q[2], "224 / 0.1 = 2240 rounds down to 2048");
    }

    @Test
    void currentScalingUsesTheTensorsOwnAmax() {
        float[] s = scalesUsed(recipe(3, AmaxCompute.MAX).withScaling(Scaling.CURRENT), 1f, 4f, 2f, 0.5f);
        assertArrayEquals(new float[] {E4M3_MAX, E4M3_MAX / 4f, E4M3_MAX / 2f, E4M3_MAX / 0.5f}, s);
        // own amax: the largest value maps to FP8_MAX exactly, so nothing saturates
        var meta = new Fp8TensorMeta(Fp8Recipe.defaults().withScaling(Scaling.CURRENT));
        meta.quantizeDequantize(tensorWithAmax(1f, 1), Fp8.E4M3FN);
        INDArray y = meta.quantizeDequantize(tensorWithAmax(4f, 2), Fp8.E4M3FN);
        assertEquals(4f, y.amaxNumber().floatValue());
    }

    @Test
    void firstCallScalesJustInTimeAndAllZeroCallsDoNotEndThat() {
        var meta = new Fp8TensorMeta(Fp8Recipe.defaults());
        assertEquals(1f, meta.scale(), "before any call");
        assertFalse(meta.calibrated());
        INDArray first = meta.quantizeDequantize(tensorWithAmax(8f, 1), Fp8.E4M3FN);
        assertEquals(E4M3_MAX / 8f, meta.scale(), "own amax on the first call");
        assertEquals(8f, first.amaxNumber().floatValue(), "nothing saturated");
        assertTrue(meta.calibrated());

        var zeroFirst = new Fp8TensorMeta(Fp8Recipe.defaults());
        INDArray zeros = zeroFirst.quantizeDequantize(Nd4j.zeros(DataType.FLOAT, 3, 5), Fp8.E4M3FN);
        assertEquals(0f, zeros.amaxNumber().floatValue());
        assertEquals(1f, zeroFirst.scale(), "amax 0: the initial scale 1 is kept");
        assertFalse(zeroFirst.calibrated());
        zeroFirst.quantizeDequantize(tensorWithAmax(2f, 2), Fp8.E4M3FN);
        assertEquals(E4M3_MAX / 2f, zeroFirst.scale(), "still just in time: no usable amax recorded yet");
        zeroFirst.quantizeDequantize(tensorWithAmax(0.5f, 3), Fp8.E4M3FN);
        assertEquals(E4M3_MAX / 2f, zeroFirst.scale(), "delayed from now on");
    }

    @Test
    void zeroAndInfiniteAmaxKeepThePreviousScaleAndNanIsIgnored() {
        var meta = new Fp8TensorMeta(recipe(2, AmaxCompute.MOST_RECENT));
        meta.quantizeDequantize(tensorWithAmax(2f, 1), Fp8.E4M3FN);
        meta.quantizeDequantize(Nd4j.zeros(DataType.FLOAT, 4), Fp8.E4M3FN);
        assertEquals(E4M3_MAX / 2f, meta.scale());
        meta.quantizeDequantize(tensorWithAmax(1f, 2), Fp8.E4M3FN);
        assertEquals(E4M3_MAX / 2f, meta.scale(), "most recent amax was 0: previous scale kept");
        assertEquals(E4M3_MAX / 1f, scaleAfter(meta, 1f));

        var inf = new Fp8TensorMeta(recipe(2, AmaxCompute.MAX));
        inf.quantizeDequantize(tensorWithAmax(2f, 1), Fp8.E4M3FN);
        INDArray withInf = Nd4j.createFromArray(1f, Float.POSITIVE_INFINITY, -3f);
        INDArray y = inf.quantizeDequantize(withInf, Fp8.E4M3FN);
        assertEquals(E4M3_MAX / 2f, inf.scale());
        assertEquals(2f, y.getFloat(1), "infinity saturates to FP8_MAX / scale");
        assertEquals(-2f, y.getFloat(2), "-3 saturates too");
        assertEquals(Float.POSITIVE_INFINITY, inf.lastAmax());
        assertEquals(E4M3_MAX / 2f, scaleAfter(inf, 1f), "history max is infinite: scale frozen");
        assertEquals(E4M3_MAX / 2f, scaleAfter(inf, 1f), "still in the window (length 2)");
        assertEquals(E4M3_MAX / 1f, scaleAfter(inf, 1f), "infinity left the window");

        var nan = new Fp8TensorMeta(Fp8Recipe.defaults());
        INDArray z = nan.quantizeDequantize(Nd4j.createFromArray(Float.NaN, 2f, -1f), Fp8.E4M3FN);
        assertEquals(2f, nan.lastAmax(), "NaN does not count in the amax");
        assertEquals(E4M3_MAX / 2f, nan.scale());
        assertTrue(Float.isNaN(z.getFloat(0)), "NaN stays NaN");
    }

    private static float scaleAfter(Fp8TensorMeta meta, float amax) {
        meta.quantizeDequantize(tensorWithAmax(amax, 9), Fp8.E4M3FN);
        return meta.scale();
    }

    @Test
    void e5m2KeepsValuesThatE4m3FlushesToZero() {
        // one tensor spanning 2^-20 .. 1: after scaling, E4M3 (min subnormal 2^-9 at scale 448) loses the
        // small entry, E5M2 (min subnormal 2^-16 at scale 57344) keeps it
        INDArray g = Nd4j.createFromArray(1f, 0x1p-20f, -0.5f);
        INDArray e4 = new Fp8TensorMeta(Fp8Recipe.defaults()).quantizeDequantize(g, Fp8.E4M3FN);
        INDArray e5 = new Fp8TensorMeta(Fp8Recipe.defaults()).quantizeDequantize(g, Fp8.E5M2);
        assertEquals(0f, e4.getFloat(1));
        assertEquals(0x1p-20f, e5.getFloat(1));
    }

    @Test
    void inputIsNotModifiedAndViewsAndRejectsDouble() {
        INDArray base = Nd4j.createFromArray(new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}).reshape(2, 3);
        INDArray before = base.dup();
        INDArray view = base.transpose(); // [3, 2], not C-contiguous
        INDArray y = new Fp8TensorMeta(Fp8Recipe.defaults()).quantizeDequantize(view, Fp8.E4M3FN);
        assertEquals(before, base);
        assertArrayEquals(new long[] {3, 2}, y.shape());
        float s = E4M3_MAX / 0.6f;
        assertEquals(Fp8.E4M3FN.decode(Fp8.E4M3FN.encode(0.4f * s, true)) * (1f / s), y.getFloat(0, 1));
        assertThrows(IllegalArgumentException.class, () -> new Fp8TensorMeta(Fp8Recipe.defaults())
                .quantizeDequantize(Nd4j.zeros(DataType.DOUBLE, 2), Fp8.E4M3FN));
    }

    /**
     * Large tensors run their amax and fake-quantization passes in two halves on the cores, and the caller may
     * give the output array (or the input itself): every variant gives the codec's values at the scale used and
     * records the same amax, with the largest magnitude placed in the second half.
     */
    @Test
    void largeTensorsIntoAnOutputOrInPlaceMatchTheCodec() {
        int n = (1 << 19) + 99; // above the two-core threshold, halves not of equal length
        var rnd = new Random(5);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian() * 1e-3f;
        }
        v[n - 3] = -0.25f; // the amax, in the second half
        v[7] = Float.NaN;  // ignored by the amax, stays NaN
        Fp8Recipe recipe = Fp8Recipe.defaults().withAmaxHistoryLen(4);
        var allocating = new Fp8TensorMeta(recipe);
        var into = new Fp8TensorMeta(recipe);
        var inPlace = new Fp8TensorMeta(recipe);
        for (int call = 0; call < 3; call++) {
            INDArray x = Nd4j.createFromArray(v).reshape(1, n);
            INDArray a = allocating.quantizeDequantize(x, Fp8.E5M2);
            INDArray b = Nd4j.create(DataType.FLOAT, 1, n);
            into.quantizeDequantize(x, Fp8.E5M2, b);
            INDArray c = x.dup();
            inPlace.quantizeDequantize(c, Fp8.E5M2, c);
            assertEquals(0.25f, allocating.lastAmax());
            assertEquals(allocating.lastAmax(), into.lastAmax());
            assertEquals(allocating.lastAmax(), inPlace.lastAmax());
            float s = allocating.scale();
            assertEquals(s, into.scale());
            assertEquals(s, inPlace.scale());
            float[] av = a.toFloatVector();
            float[] bv = b.toFloatVector();
            float[] cv = c.toFloatVector();
            for (int i = 0; i < n; i++) {
                float want = Fp8.E5M2.decode(Fp8.E5M2.encode(v[i] * s, true)) * (1f / s);
                assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(av[i]), "call " + call + ", element " + i);
                assertEquals(Float.floatToRawIntBits(av[i]), Float.floatToRawIntBits(bv[i]), "into, element " + i);
                assertEquals(Float.floatToRawIntBits(av[i]), Float.floatToRawIntBits(cv[i]), "in place, element " + i);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> into.quantizeDequantize(Nd4j.zeros(DataType.FLOAT, 2, 3),
                Fp8.E5M2, Nd4j.zeros(DataType.FLOAT, 3, 2)));
    }

    @Test
    void recipeDefaultsAndValidation() {
        Fp8Recipe d = Fp8Recipe.defaults();
        assertEquals(new Fp8Recipe(Fp8Format.HYBRID, 1024, AmaxCompute.MAX, 0, false, Scaling.DELAYED), d);
        assertThrows(IllegalArgumentException.class, () -> d.withAmaxHistoryLen(0));
        assertThrows(IllegalArgumentException.class, () -> d.withMargin(-1));
        assertThrows(NullPointerException.class, () -> d.withFormat(null));
        assertEquals(Fp8.E5M2, Fp8Format.HYBRID.backwardFormat());
        assertEquals(Fp8.E4M3FN, Fp8Format.E4M3.backwardFormat());
        assertEquals(Fp8.E4M3FN, Fp8Format.HYBRID.forwardFormat());
    }
}
