package org.lowbit4j.optim.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.formats.DynamicMaps;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Vector kernels against their scalar twins, and the quantized state formats. */
class KernelTest {
    private static final MapEncoder S8 = new MapEncoder(DynamicMaps.signed8());
    private static final MapEncoder U8 = new MapEncoder(DynamicMaps.unsigned8());
    private static final MapEncoder U8_NONZERO = new MapEncoder(DynamicMaps.unsigned8(), true);
    private static final MapEncoder S4 = new MapEncoder(DynamicMaps.signed4());
    private static final AdamCoeffs C = AdamCoeffs.of(0.01, 0.9, 0.99, 1e-8, 0.1, 3);

    private static MemorySegment segment(Arena arena, float[] a) {
        MemorySegment s = arena.allocate(4L * a.length, 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, a.length);
        return s;
    }

    private static float[] floats(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
    }

    private static float[] gaussian(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    @Test
    void adamAndSgdVectorKernelsEqualScalarTwinsBitwise() {
        Random r = new Random(3);
        int n = 1003;
        float[] p = gaussian(r, n, 1);
        float[] g = gaussian(r, n, 0.1);
        float[] m = gaussian(r, n, 0.01);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.abs(r.nextGaussian() * 1e-3);
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment p1 = segment(arena, p);
            MemorySegment p2 = segment(arena, p);
            MemorySegment gs = segment(arena, g);
            float[] m1 = m.clone();
            float[] v1 = v.clone();
            float[] m2 = m.clone();
            float[] v2 = v.clone();
            AdamKernel.step(p1, gs, 5, m1, v1, 5, n - 5, C);
            AdamKernel.stepScalar(p2, gs, 5, m2, v2, 5, n - 5, C);
            assertArrayEquals(floats(p2), floats(p1));
            assertArrayEquals(m2, m1);
            assertArrayEquals(v2, v1);
            for (boolean first : new boolean[] {true, false}) {
                var sc = new SgdKernel.Coeffs(0.1f, 0.01f, 0.9f, 0.8f, !first, first);
                float[] b1 = m.clone();
                float[] b2 = m.clone();
                SgdKernel.step(p1, gs, 0, b1, 0, n, sc);
                SgdKernel.stepScalar(p2, gs, 0, b2, 0, n, sc);
                assertArrayEquals(floats(p2), floats(p1));
                assertArrayEquals(b2, b1);
            }
        }
    }

    @Test
    void block8VectorEqualsScalarAndStateDecodesWithinResolution() {
        // The plain second-moment map, then AdamW8bit's default one (positives never take the zero code).
        for (MapEncoder u8 : new MapEncoder[] {U8, U8_NONZERO}) {
            block8VectorEqualsScalar(u8);
        }
    }

    private static void block8VectorEqualsScalar(MapEncoder u8) {
        Random r = new Random(4);
        int n = 256 * 5 + 77;
        float[] p = gaussian(r, n, 1);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment p1 = segment(arena, p);
            MemorySegment p2 = segment(arena, p);
            Block8Kernel.State s1 = zero8(n);
            Block8Kernel.State s2 = zero8(n);
            float[] m = new float[n];
            float[] v = new float[n];
            for (int step = 1; step <= 3; step++) {
                float[] g = gaussian(r, n, 0.1 * step);
                MemorySegment gs = segment(arena, g);
                var c = AdamCoeffs.of(0.01, 0.9, 0.999, 1e-8, 0.01, step);
                // The fp32 moments the codes should approximate: one exact step from the decoded old state.
                float[] mOld = decode8(s1.mCodes(), s1.mAbsmax(), S8);
                float[] vOld = decode8(s1.vCodes(), s1.vAbsmax(), u8);
                for (int i = 0; i < n; i++) {
                    m[i] = mOld[i] * c.beta1() + g[i] * c.oneMinusBeta1();
                    v[i] = vOld[i] * c.beta2() + g[i] * g[i] * c.oneMinusBeta2();
                }
                Block8Kernel.update(p1, gs, s1, 0, 512, c, S8, u8);
                Block8Kernel.update(p1, gs, s1, 512, n, c, S8, u8);
                Block8Kernel.updateScalar(p2, gs, s2, 0, n, c, S8, u8);
                assertArrayEquals(floats(p2), floats(p1));
                assertArrayEquals(s2.mCodes(), s1.mCodes());
                assertArrayEquals(s2.vCodes(), s1.vCodes());
                assertArrayEquals(s2.mAbsmax(), s1.mAbsmax());
                assertArrayEquals(s2.vAbsmax(), s1.vAbsmax());
                float[] mDec = decode8(s1.mCodes(), s1.mAbsmax(), S8);
                float[] vDec = decode8(s1.vCodes(), s1.vAbsmax(), u8);
                for (int i = 0; i < n; i++) {
                    int b = i / 256;
                    float mTol = S8.resolution(s1.mCodes()[i] & 0xFF) * s1.mAbsmax()[b] * 1.0001f + 1e-12f;
                    float vTol = u8.resolution(s1.vCodes()[i] & 0xFF) * s1.vAbsmax()[b] * 1.0001f + 1e-12f;
                    assertEquals(m[i], mDec[i], mTol, "m[" + i + "] step " + step);
                    assertEquals(v[i], vDec[i], vTol, "v[" + i + "] step " + step);
                }
            }
            // The block absmax is exactly representable: the largest element decodes exactly.
            float[] mDec = decode8(s1.mCodes(), s1.mAbsmax(), S8);
            float max = 0;
            for (int i = 0; i < 256; i++) {
                max = Math.max(max, Math.abs(mDec[i]));
            }
            assertEquals(s1.mAbsmax()[0], max);
        }
    }

    @Test
    void block8PipelinedPathHandlesZeroAndNonFiniteBlocksAndOtherMapsLikeTheScalarTwin() {
        Random r = new Random(8);
        int n = 256 * 6 + 40;
        float[] p = gaussian(r, n, 1);
        float[] g = gaussian(r, n, 0.1);
        for (int i = 256; i < 512; i++) {
            g[i] = 0f;      // block 1: both moments stay exactly zero (a zero maximum, the zero code)
        }
        g[3 * 256 + 7] = Float.NaN;                    // block 3: NaN moments and maxima
        g[4 * 256 + 9] = Float.POSITIVE_INFINITY;      // block 4: infinite moments
        for (int i = 5 * 256; i < 5 * 256 + 40; i++) {
            g[i] *= 1e-5f;  // block 5: second moments below the first midpoint (zero code unless kept off it)
        }
        for (MapEncoder vMap : new MapEncoder[] {U8, U8_NONZERO})
        for (MapEncoder mMap : new MapEncoder[] {S8, S4}) {   // the 4-bit map takes the general path
            try (Arena arena = Arena.ofShared()) {
                MemorySegment p1 = segment(arena, p);
                MemorySegment p2 = segment(arena, p);
                MemorySegment gs = segment(arena, g);
                Block8Kernel.State s1 = zero8(n, mMap);
                Block8Kernel.State s2 = zero8(n, mMap);
                for (int step = 1; step <= 3; step++) {
                    var c = AdamCoeffs.of(0.01, 0.9, 0.999, 1e-8, 0.01, step);
                    Block8Kernel.update(p1, gs, s1, 0, 768, c, mMap, vMap);
                    Block8Kernel.update(p1, gs, s1, 768, n, c, mMap, vMap);
                    Block8Kernel.updateScalar(p2, gs, s2, 0, n, c, mMap, vMap);
                    assertArrayEquals(floats(p2), floats(p1), "step " + step);
                    assertArrayEquals(s2.mCodes(), s1.mCodes(), "step " + step);
                    assertArrayEquals(s2.vCodes(), s1.vCodes(), "step " + step);
                    assertArrayEquals(s2.mAbsmax(), s1.mAbsmax(), "step " + step);
                    assertArrayEquals(s2.vAbsmax(), s1.vAbsmax(), "step " + step);
                }
                assertEquals(0f, s1.mAbsmax()[1]);
                assertEquals(mMap.zeroCode(), s1.mCodes()[300] & 0xFF);
                assertTrue(Float.isNaN(s1.mAbsmax()[3]));
                int zeroV = 0;
                for (int i = 5 * 256; i < 5 * 256 + 40; i++) {
                    zeroV += (s1.vCodes()[i] & 0xFF) == U8.zeroCode() ? 1 : 0;
                }
                if (vMap == U8) {
                    assertTrue(zeroV > 0, "the tiny second moments reach the zero code with plain rounding");
                } else {
                    assertEquals(0, zeroV, "no positive second moment on the zero code");
                }
            }
        }
    }

    private static Block8Kernel.State zero8(int n, MapEncoder mMap) {
        int blocks = (n + 255) / 256;
        byte[] mc = new byte[n];
        byte[] vc = new byte[n];
        java.util.Arrays.fill(mc, (byte) mMap.zeroCode());
        java.util.Arrays.fill(vc, (byte) U8.zeroCode());
        return new Block8Kernel.State(mc, new float[blocks], vc, new float[blocks], 256);
    }

    private static Block8Kernel.State zero8(int n) {
        int blocks = (n + 255) / 256;
        byte[] mc = new byte[n];
        byte[] vc = new byte[n];
        java.util.Arrays.fill(mc, (byte) S8.zeroCode());
        java.util.Arrays.fill(vc, (byte) U8.zeroCode());
        return new Block8Kernel.State(mc, new float[blocks], vc, new float[blocks], 256);
    }

    private static float[] decode8(byte[] codes, float[] absmax, MapEncoder map) {
        float[] out = new float[codes.length];
        for (int i = 0; i < codes.length; i++) {
            out[i] = map.value(codes[i] & 0xFF) * absmax[i / 256];
        }
        return out;
    }

    private static float[] decode4m(FourBitState s) {
        float[] out = new float[s.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = S4.value(FourBitState.nibble(s.mCodes(), i)) * s.mAbsmax()[i / FourBitState.BLOCK];
        }
        return out;
    }

    static float[] decode4v(FourBitState s) {
        float[] rows = s.rowMax();
        float[] cols = s.colMax();
        float[] out = new float[s.length()];
        for (int i = 0; i < out.length; i++) {
            float scale = s.isRank1()
                    ? Rank1.scale(rows, cols, i / s.cols(), i % s.cols())
                    : s.vAbsmax()[i / FourBitState.BLOCK];
            out[i] = LinearMap4.decode(FourBitState.nibble(s.vCodes(), i), scale);
        }
        return out;
    }

    @Test
    void rank1ScalesOnAHandMadeMatrix() {
        // v = g^2 after one step with beta2 = 0: the matrix below, exactly.
        float[] v = {
            1, 4, 9, 0,
            16, 1, 0, 0,
            0, 0, 0, 4,
        };
        float[][] maxima = Rank1.maxima(v, 3, 4);
        assertArrayEquals(new float[] {9, 16, 4}, maxima[0]);
        assertArrayEquals(new float[] {16, 4, 9, 4}, maxima[1]);
        assertEquals(4f, Rank1.scale(maxima[0], maxima[1], 0, 1));   // min(row 9, col 4)
        assertEquals(9f, Rank1.scale(maxima[0], maxima[1], 0, 2));   // min(row 9, col 9)
        assertEquals(16f, Rank1.scale(maxima[0], maxima[1], 1, 0));  // min(row 16, col 16)
        assertEquals(4f, Rank1.scale(maxima[0], maxima[1], 1, 1));   // min(row 16, col 4)

        float[] g = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            g[i] = (float) Math.sqrt(v[i]) * (i % 2 == 0 ? 1 : -1);
        }
        var c = AdamCoeffs.of(0.01, 0.9, 0.0, 1e-8, 0, 1);
        FourBitState s = new FourBitState(12, 3, 4, S4.zeroCode());
        try (Arena arena = Arena.ofShared()) {
            FourBitKernel.update(segment(arena, new float[12]), segment(arena, g), s, c, S4, Workers.of(1));
        }
        assertArrayEquals(maxima[0], s.rowMax());
        assertArrayEquals(maxima[1], s.colMax());
        float[] dec = decode4v(s);
        // Elements equal to their scale decode exactly. (0,0): 1 with scale min(9, 16) = 9 is 16/9 = 1.78
        // sixteenths, rounded to 2/16 * 9 = 1.125. (1,1): 1 with scale min(16, 4) = 4 is exactly 4/16 (code 3).
        // Zeros take code 0, i.e. 1/16 of their scale: (0,3) 4/16, (1,2) 9/16.
        assertArrayEquals(new float[] {1.125f, 4, 9, 4 / 16f, 16, 1, 9 / 16f, 4 / 16f, 4 / 16f, 4 / 16f, 4 / 16f, 4},
                dec);
        assertEquals(1, FourBitState.nibble(s.vCodes(), 0));
        assertEquals(3, FourBitState.nibble(s.vCodes(), 5));
        assertEquals(15, FourBitState.nibble(s.vCodes(), 4));
        // Element (2, 1) is 0 in a row with max 4 and a column with max 4: decodes to 4/16 > 0, never 0.
        assertEquals(0, FourBitState.nibble(s.vCodes(), 9));
    }

    @Test
    void linearMapNeverDecodesANonzeroToZero() {
        Random r = new Random(5);
        for (int i = 0; i < 100_000; i++) {
            float scale = (float) Math.pow(10, -30 + 30 * r.nextDouble());
            float v = scale * (float) Math.pow(10, -12 * r.nextDouble());
            int code = LinearMap4.encode(v, scale);
            float dec = LinearMap4.decode(code, scale);
            assertTrue(dec > 0, "v " + v + " scale " + scale);
            assertTrue(Math.abs(dec - v) <= Math.max(scale / 32f * 1.0001f, v < scale / 16 ? scale / 16 : 0),
                    "v " + v + " decoded " + dec);
        }
        for (int k = 0; k < 16; k++) {
            assertEquals(k, LinearMap4.encode(LinearMap4.level(k), 1f));
        }
        assertEquals(0, LinearMap4.encode(0f, 0f));
        assertEquals(0f, LinearMap4.decode(0, 0f));
    }

    @Test
    void fourBitKernelTwinsThreadsAndStateAccuracy() {
        Random r = new Random(6);
        int rows = 300;
        int cols = 130;
        int n = rows * cols;   // above Workers.MIN_PARALLEL_ELEMENTS, so two threads really split it
        float[] p = gaussian(r, n, 1);
        for (boolean rank1 : new boolean[] {true, false}) {
            try (Arena arena = Arena.ofShared()) {
                MemorySegment p1 = segment(arena, p);
                MemorySegment p2 = segment(arena, p);
                MemorySegment p3 = segment(arena, p);
                FourBitState s1 = new FourBitState(n, rank1 ? rows : 0, rank1 ? cols : 0, S4.zeroCode());
                FourBitState s2 = new FourBitState(n, rank1 ? rows : 0, rank1 ? cols : 0, S4.zeroCode());
                FourBitState s3 = new FourBitState(n, rank1 ? rows : 0, rank1 ? cols : 0, S4.zeroCode());
                for (int step = 1; step <= 3; step++) {
                    float[] g = gaussian(r, n, 0.1);
                    // Some exact zeros and tiny values: nonzero second moments must never decode to zero.
                    for (int i = 0; i < n; i += 97) {
                        g[i] = step == 1 ? 0f : 1e-20f;
                    }
                    MemorySegment gs = segment(arena, g);
                    var c = AdamCoeffs.of(0.01, 0.9, 0.999, 1e-8, 0.01, step);
                    float[] mOld = decode4m(s1);
                    float[] vOld = decode4v(s1);
                    FourBitKernel.update(p1, gs, s1, c, S4, Workers.of(2));
                    FourBitKernel.updateScalar(p2, gs, s2, c, S4, Workers.of(1));
                    FourBitKernel.update(p3, gs, s3, c, S4, Workers.of(1));
                    assertArrayEquals(floats(p2), floats(p1));
                    assertArrayEquals(floats(p3), floats(p1));
                    assertArrayEquals(s2.mCodes(), s1.mCodes());
                    assertArrayEquals(s2.vCodes(), s1.vCodes());
                    assertArrayEquals(s3.vCodes(), s1.vCodes());
                    assertArrayEquals(s2.mAbsmax(), s1.mAbsmax());
                    assertArrayEquals(s2.vAbsmax(), s1.vAbsmax());
                    assertArrayEquals(s2.rowMaxBits(), s1.rowMaxBits());
                    assertArrayEquals(s2.colMaxBits(), s1.colMaxBits());
                    float[] mDec = decode4m(s1);
                    float[] vDec = decode4v(s1);
                    for (int i = 0; i < n; i++) {
                        float m = mOld[i] * c.beta1() + g[i] * c.oneMinusBeta1();
                        float v = vOld[i] * c.beta2() + g[i] * g[i] * c.oneMinusBeta2();
                        float am = s1.mAbsmax()[i / 128];
                        float mTol = S4.resolution(FourBitState.nibble(s1.mCodes(), i)) * am * 1.0001f + 1e-30f;
                        assertEquals(m, mDec[i], mTol, "m[" + i + "]");
                        if (v > 0) {
                            assertTrue(vDec[i] > 0, "v[" + i + "] = " + v + " decoded to 0");
                        }
                    }
                }
            }
        }
    }

    @Test
    void bf16RoundingAndFloatViews() {
        assertEquals((short) 0x3FC0, Bf16.roundNearest(1.5f));
        assertEquals((short) 0x3F80, Bf16.roundNearest(Math.nextUp(1f)));
        // Halfway between 1 and 1 + 2^-7 rounds to even (1); just above rounds up.
        assertEquals((short) 0x3F80, Bf16.roundNearest(1f + 1f / 256));
        assertEquals((short) 0x3F81, Bf16.roundNearest(Math.nextUp(1f + 1f / 256)));
        assertEquals((short) 0x3F80, Bf16.roundStochastic(1f + 1f / 256, 0x7FFF));
        assertEquals((short) 0x3F81, Bf16.roundStochastic(1f + 1f / 256, 0x8000));
        assertEquals((short) 0x7F80, Bf16.roundStochastic(Float.POSITIVE_INFINITY, 0xFFFF));
        assertEquals(1.5f, Bf16.toFloat((short) 0x3FC0));
        assertEquals((short) 0x3FC0, FourBitState.bf16Up(1.5f));
        assertEquals((short) 0x3FC1, FourBitState.bf16Up(Math.nextUp(1.5f)));
        assertEquals((short) 0, FourBitState.bf16Up(0f));

        // ND4J's bf16 storage is the upper half of a float32, viewed in place through its native address.
        INDArray b = Nd4j.create(new float[] {1.5f, -2f, 3f}).castTo(DataType.BFLOAT16);
        FloatView fv = FloatView.of(b, "b");
        assertTrue(fv.isCopy());
        assertArrayEquals(new float[] {1.5f, -2f, 3f}, floats(fv.segment()));
        // A row view with an offset into its buffer is dense and viewed in place.
        INDArray m = Nd4j.create(new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, 'c');
        INDArray row = m.getRow(1);
        FloatView rv = FloatView.of(row, "row");
        assertTrue(!rv.isCopy());
        assertArrayEquals(new float[] {4, 5, 6}, floats(rv.segment()));
        rv.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0, 40f);
        assertEquals(40f, m.getFloat(1, 0));
        assertTrue(!FloatView.isDenseC(m.transpose()));
    }
}
