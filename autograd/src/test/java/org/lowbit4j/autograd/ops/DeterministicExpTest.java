package org.lowbit4j.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DeterministicExpTest {
    private static float[] sweep() {
        var rng = new SplittableRandom(5);
        float[] x = new float[200_000];
        for (int i = 0; i < x.length; i++) {
            x[i] = i < 100_000 ? -100f + 200f * i / 100_000f : (float) (rng.nextDouble() * 200 - 100);
        }
        float[] special = {0f, -0f, 1f, -1f, DeterministicExp.MIN_ARG, Math.nextDown(DeterministicExp.MIN_ARG),
            Math.nextUp(DeterministicExp.MIN_ARG), DeterministicExp.MAX_ARG, Math.nextUp(DeterministicExp.MAX_ARG),
            Math.nextDown(DeterministicExp.MAX_ARG), 88.5f, -87f, Float.NaN, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-30f, 0.34657f, -0.34657f, 0.5f};
        System.arraycopy(special, 0, x, 0, special.length);
        return x;
    }

    @Test
    void withinTwoUlpOfTheCorrectlyRoundedValue() {
        int worst = 0;
        for (float x : sweep()) {
            float got = DeterministicExp.exp(x);
            if (Float.isNaN(x)) {
                assertTrue(Float.isNaN(got));
                continue;
            }
            if (x < DeterministicExp.MIN_ARG) {
                assertEquals(0f, got, "flushes below 2^-126 at x = " + x);
                continue;
            }
            if (x > DeterministicExp.MAX_ARG) {
                assertEquals(Float.POSITIVE_INFINITY, got, "x = " + x);
                continue;
            }
            float ref = (float) StrictMath.exp(x);
            int ulps = (int) Math.abs(Math.round((got - ref) / Math.ulp(ref)));
            assertTrue(ulps <= 2, "exp(" + x + ") = " + got + ", correctly rounded " + ref);
            worst = Math.max(worst, ulps);
        }
        System.out.println("DeterministicExp: worst error " + worst + " ulp over the sweep");
    }

    @Test
    void rowKernelEqualsElementwiseExpIncludingInPlace() {
        float[] x = sweep();
        int n = x.length - 3;
        for (float sign : new float[] {1f, -1f}) {
            float[] out = new float[x.length];
            DeterministicExp.expInto(MemorySegment.ofArray(x), 1, MemorySegment.ofArray(out), 2, n, sign, 2.5f);
            float[] inPlace = x.clone();
            DeterministicExp.expInto(MemorySegment.ofArray(inPlace), 1, MemorySegment.ofArray(inPlace), 1, n, sign, 2.5f);
            for (int i = 0; i < n; i++) {
                int want = Float.floatToRawIntBits(DeterministicExp.exp(sign * x[1 + i] - 2.5f));
                assertEquals(want, Float.floatToRawIntBits(out[2 + i]), "x = " + x[1 + i]);
                assertEquals(want, Float.floatToRawIntBits(inPlace[1 + i]), "in place, x = " + x[1 + i]);
            }
        }
    }

    /** The property the class exists for: the same input gives the same bits before and after C2 compiles. */
    @Test
    void sameBitsColdAndHot() {
        float[] x = sweep();
        float[] cold = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            cold[i] = DeterministicExp.exp(x[i]);
        }
        for (int round = 0; round < 30; round++) { // long enough for C1 and C2 to compile exp
            for (int i = 0; i < x.length; i++) {
                assertEquals(Float.floatToRawIntBits(cold[i]), Float.floatToRawIntBits(DeterministicExp.exp(x[i])));
            }
        }
    }

    /** The vector row kernel gives its scalar twin's bits in every JIT tier (interpreted first, then C2). */
    @Test
    void rowKernelEqualsScalarTwinColdAndHot() {
        float[] x = sweep();
        MemorySegment in = MemorySegment.ofArray(x);
        float[] want = new float[x.length];
        float[] got = new float[x.length];
        for (float sign : new float[] {1f, -1f}) {
            float shift = sign > 0 ? 0f : -0.75f; // 0: the range limits themselves are in the sweep
            DeterministicExp.expIntoScalar(in, 0, MemorySegment.ofArray(want), 0, x.length, sign, shift);
            for (int round = 0; round < 200; round++) { // long enough for C2 to compile expInto
                DeterministicExp.expInto(in, 0, MemorySegment.ofArray(got), 0, x.length, sign, shift);
                for (int i = 0; i < x.length; i++) {
                    if (Float.isNaN(want[i])) {
                        assertTrue(Float.isNaN(got[i]), "x = " + x[i]);
                    } else if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                        assertEquals(want[i], got[i], "round " + round + ", sign " + sign + ", x = " + x[i]);
                        assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), "x = " + x[i]);
                    }
                }
            }
        }
    }
}
