package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** FP16 and BF16: exhaustive round trips, slow-reference rounding, and vector vs scalar kernels. */
class HalfFloatTest {
    private static final RoundingReference FP16_REF;
    private static final RoundingReference BF16_REF;

    static {
        double[] h = new double[0x7C00];
        for (int c = 0; c < h.length; c++) {
            int e = c >> 10;
            int m = c & 0x3FF;
            h[c] = e == 0 ? m * Math.pow(2, -24) : Math.pow(2, e - 15) * (1 + m / 1024.0);
        }
        FP16_REF = new RoundingReference(h, 65536);
        double[] b = new double[0x7F80];
        for (int c = 0; c < b.length; c++) {
            int e = c >> 7;
            int m = c & 0x7F;
            b[c] = e == 0 ? m * Math.pow(2, -133) : Math.pow(2, e - 127) * (1 + m / 128.0);
        }
        BF16_REF = new RoundingReference(b, Math.pow(2, 128));
    }

    private static float[] testValues() {
        Random r = new Random(9);
        float[] edge = {0f, -0f, 65504f, 65519.996f, 65520f, -65520f, 65536f, Float.MAX_VALUE, Float.MIN_VALUE,
            Float.MIN_NORMAL, 0x1p-24f, 0x1p-25f, Math.nextUp(0x1p-25f), 3 * 0x1p-26f, 0x1p-14f,
            Math.nextDown(0x1p-14f), 1f + 0x1p-11f, 1f + 3 * 0x1p-11f, 1f + 0x1p-8f, 1f + 3 * 0x1p-8f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 3.3895314e38f, 3.4e38f};
        float[] xs = new float[edge.length + 400_000];
        System.arraycopy(edge, 0, xs, 0, edge.length);
        for (int i = edge.length; i < xs.length; i++) {
            xs[i] = i % 2 == 0
                    ? Float.intBitsToFloat(r.nextInt() & 0x7F7FFFFF | (r.nextBoolean() ? 0x80000000 : 0))
                    : Float.intBitsToFloat((r.nextBoolean() ? 0x80000000 : 0) | ((127 - 28 + r.nextInt(46)) << 23)
                            | r.nextInt(1 << 23));
        }
        return xs;
    }

    private static int expect(RoundingReference ref, float x, int infCode) {
        int m = ref.encodeMagnitude(x);
        return ((Float.floatToRawIntBits(x) >>> 16) & 0x8000) | (m < 0 ? infCode : m);
    }

    @Test
    void fp16AllCodesRoundTripAndMatchTheJdk() {
        for (int h = 0; h < 65536; h++) {
            float v = Fp16.decode((short) h);
            float jdk = Float.float16ToFloat((short) h);
            if (Float.isNaN(jdk)) {
                assertTrue(Float.isNaN(v), "code " + h);
                assertTrue(Float.isNaN(Fp16.decode(Fp16.encode(v))), "NaN stays NaN, code " + h);
            } else {
                assertEquals(Float.floatToRawIntBits(jdk), Float.floatToRawIntBits(v), "code " + h);
                assertEquals((short) h, Fp16.encode(v), "round trip of code " + h);
            }
        }
    }

    @Test
    void fp16EncodingMatchesTheSlowReferenceAndTheJdk() {
        for (float x : testValues()) {
            short got = Fp16.encode(x);
            assertEquals((short) expect(FP16_REF, x, 0x7C00), got, "x = " + x);
            assertEquals(Float.floatToFloat16(x), got, "JDK, x = " + x);
        }
        for (int nan : new int[] {0x7F800001, 0x7FC00000, 0xFFFFFFFF, 0x7F802000, 0xFF800001}) {
            assertTrue(Float.isNaN(Fp16.decode(Fp16.encode(Float.intBitsToFloat(nan)))), Integer.toHexString(nan));
        }
        assertEquals((short) 0x7C00, Fp16.encode(65520f));
        assertEquals((short) 0x7BFF, Fp16.encode(65519.996f));
        assertEquals((short) 0x0000, Fp16.encode(0x1p-25f));
        assertEquals((short) 0x0001, Fp16.encode(Math.nextUp(0x1p-25f)));
        assertEquals((short) 0x0002, Fp16.encode(3 * 0x1p-25f));
    }

    @Test
    void bf16AllCodesRoundTripAndEncodingMatchesTheSlowReference() {
        for (int h = 0; h < 65536; h++) {
            float v = Bf16.decode((short) h);
            assertEquals(h << 16, Float.floatToRawIntBits(v));
            if (Float.isNaN(v)) {
                assertTrue(Float.isNaN(Bf16.decode(Bf16.encode(v))));
            } else {
                assertEquals((short) h, Bf16.encode(v), "round trip of code " + h);
            }
        }
        for (float x : testValues()) {
            assertEquals((short) expect(BF16_REF, x, 0x7F80), Bf16.encode(x), "x = " + x);
        }
        for (int nan : new int[] {0x7F800001, 0x7FC00000, 0xFFFFFFFF, 0x7F802000, 0xFF800001}) {
            assertTrue(Float.isNaN(Bf16.decode(Bf16.encode(Float.intBitsToFloat(nan)))), Integer.toHexString(nan));
        }
        assertEquals((short) 0x7F80, Bf16.encode(3.4e38f));
        assertEquals((short) 0x3F80, Bf16.encode(1f + 0x1p-8f));
        assertEquals((short) 0x3F82, Bf16.encode(1f + 3 * 0x1p-8f));
    }

    @Test
    void vectorEqualsScalarOnOddTails() {
        float[] all = testValues();
        for (int n : new int[] {1, 7, 9, 33, 4097}) {
            float[] x = java.util.Arrays.copyOfRange(all, 0, n);
            x[n / 2] = Float.intBitsToFloat(0xFFC01234);
            short[] a = new short[n];
            short[] b = new short[n];
            Fp16.encode(MemorySegment.ofArray(x), MemorySegment.ofArray(a), n);
            Fp16.encodeScalar(MemorySegment.ofArray(x), MemorySegment.ofArray(b), n);
            assertArrayEquals(b, a, "fp16 encode n=" + n);
            Bf16.encode(MemorySegment.ofArray(x), MemorySegment.ofArray(a), n);
            Bf16.encodeScalar(MemorySegment.ofArray(x), MemorySegment.ofArray(b), n);
            assertArrayEquals(b, a, "bf16 encode n=" + n);
        }
        short[] codes = new short[65536 + 5];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (short) (i * 7919);
        }
        float[] da = new float[codes.length];
        float[] db = new float[codes.length];
        Fp16.decode(MemorySegment.ofArray(codes), MemorySegment.ofArray(da), codes.length);
        Fp16.decodeScalar(MemorySegment.ofArray(codes), MemorySegment.ofArray(db), codes.length);
        assertArrayEquals(db, da);
        Bf16.decode(MemorySegment.ofArray(codes), MemorySegment.ofArray(da), codes.length);
        Bf16.decodeScalar(MemorySegment.ofArray(codes), MemorySegment.ofArray(db), codes.length);
        assertArrayEquals(db, da);
    }
}
