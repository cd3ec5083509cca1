package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class Packed4CodecTest {
    @Test
    void nf4TableIsExactlyBitsandbytes() {
        float[] expect = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
            -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f,
            0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f,
            0.5626170039176941f, 0.7229568362236023f, 1.0f};
        assertArrayEquals(expect, FourBitCodebook.NF4.codeValues());
        for (int c = 0; c < 16; c++) {
            assertEquals(c, FourBitCodebook.NF4.encode(expect[c]), "NF4 value of code " + c + " encodes to itself");
        }
    }

    @Test
    void fp4AndInt4Tables() {
        float[] fp4 = FourBitCodebook.FP4.codeValues();
        assertEquals(1f, fp4[3]);
        assertEquals(-0.25f, fp4[15]);
        assertEquals(5.208333333e-03f, fp4[1]);
        assertEquals(0, FourBitCodebook.FP4.encode(-0f));
        assertEquals(0, FourBitCodebook.FP4.encode(0f));
        assertEquals(11, FourBitCodebook.FP4.encode(-1f));
        for (int q = -7; q <= 7; q++) {
            assertEquals(q & 15, FourBitCodebook.INT4.encode(q / 7f));
            assertEquals(q / 7f, FourBitCodebook.INT4.value(q & 15));
        }
    }

    @Test
    void packingPutsTheFirstElementInTheHighNibble() {
        float[] x = new float[33];
        x[0] = 1f;
        x[1] = -1f;
        x[2] = 0.5626170039176941f;
        x[32] = 2f;
        byte[] packed = new byte[17];
        float[] absmax = new float[2];
        Packed4Codec.quantize(x, 0, 33, FourBitCodebook.NF4, 32, packed, absmax);
        assertEquals((byte) 0xF0, packed[0]);
        assertEquals((byte) 0xD7, packed[1]);
        assertEquals((byte) 0x77, packed[2]);
        assertEquals((byte) 0xF0, packed[16], "odd count: last low nibble is 0");
        assertArrayEquals(new float[] {1f, 2f}, absmax);
    }

    @Test
    void vectorEqualsScalarOnOddTailsAndUnalignedRanges() {
        Random r = new Random(3);
        for (FourBitCodebook cb : FourBitCodebook.values()) {
            for (int len : new int[] {1, 15, 16, 17, 33, 1000, 4097}) {
                for (int block : new int[] {32, 64, 1024}) {
                    float[] x = new float[len + 5];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) r.nextGaussian();
                    }
                    int nb = BlockwiseMapCodec.blockCount(len, block);
                    byte[] p1 = new byte[(len + 1) / 2];
                    byte[] p2 = new byte[(len + 1) / 2];
                    java.util.Arrays.fill(p1, (byte) 0x5A);
                    float[] a1 = new float[nb];
                    float[] a2 = new float[nb];
                    Packed4Codec.quantize(x, 5, len, cb, block, p1, a1);
                    Packed4Codec.quantizeScalar(x, 5, len, cb, block, p2, a2);
                    assertArrayEquals(p2, p1, cb + " len " + len + " block " + block);
                    assertArrayEquals(a2, a1);
                    for (int start : new int[] {0, 1, 3, 16, 17, len / 3}) {
                        int n = len - start - (start % 2);
                        if (n < 0) {
                            continue;
                        }
                        float[] d1 = new float[n + 2];
                        float[] d2 = new float[n + 2];
                        Packed4Codec.dequantize(p1, start, n, cb, block, a1, start / block, d1, 2);
                        Packed4Codec.dequantizeScalar(p1, start, n, cb, block, a1, start / block, d2, 2);
                        assertArrayEquals(d2, d1, cb + " dequantize from " + start);
                    }
                }
            }
        }
    }

    /**
     * QLoRA's finding on N(0,1) data, blocks of 64: NF4 has the lowest error, and FP4 (E2M1) beats INT4 absmax.
     * bitsandbytes' FP4 variant, whose smallest non-zero magnitude is 1/192 instead of 1/12, does NOT beat INT4
     * on this measure (about 0.0149 vs 0.0116); the test pins that too, so the table stays honest.
     */
    @Test
    void mseOrdersNf4BelowFp4BelowInt4() {
        int n = 1 << 20;
        float[] x = new float[n];
        Random r = new Random(42);
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        FourBitCodebook[] books = FourBitCodebook.values();
        double[] mse = new double[books.length];
        byte[] packed = new byte[n / 2];
        float[] absmax = new float[n / 64];
        float[] d = new float[n];
        StringBuilder log = new StringBuilder("MSE on 2^20 N(0,1) samples, blocks of 64:");
        for (int k = 0; k < books.length; k++) {
            Packed4Codec.quantize(x, 0, n, books[k], 64, packed, absmax);
            Packed4Codec.dequantize(packed, 0, n, books[k], 64, absmax, 0, d, 0);
            double s = 0;
            for (int i = 0; i < n; i++) {
                double e = d[i] - x[i];
                s += e * e;
            }
            mse[k] = s / n;
            log.append(String.format("  %s %.6f", books[k], mse[k]));
        }
        System.out.println(log);
        double nf4 = mse[FourBitCodebook.NF4.ordinal()];
        double e2m1 = mse[FourBitCodebook.E2M1.ordinal()];
        double bnbFp4 = mse[FourBitCodebook.FP4.ordinal()];
        double int4 = mse[FourBitCodebook.INT4.ordinal()];
        assertTrue(nf4 < e2m1, "NF4 < FP4 (E2M1)");
        assertTrue(e2m1 < int4, "FP4 (E2M1) < INT4 absmax");
        assertTrue(nf4 < bnbFp4 && int4 < bnbFp4, "bitsandbytes FP4 is the worst of the four on Gaussian data");
    }

    @Test
    void dequantizeIntoNativeMemoryEqualsTheArrayPath() {
        Random r = new Random(13);
        int n = 1000;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        byte[] packed = new byte[n / 2];
        float[] absmax = new float[BlockwiseMapCodec.blockCount(n, 64)];
        Packed4Codec.quantize(x, 0, n, FourBitCodebook.NF4, 64, packed, absmax);
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var seg = arena.allocate(4L * n + 64, 64);
            for (int start : new int[] {0, 5, 16, 333}) {
                int len = n - start - 7;
                float[] want = new float[len];
                Packed4Codec.dequantizeScalar(packed, start, len, FourBitCodebook.NF4, 64, absmax, start / 64, want, 0);
                Packed4Codec.dequantize(packed, start, len, FourBitCodebook.NF4, 64, absmax, start / 64, seg, 3);
                float[] got = new float[len];
                java.lang.foreign.MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 12,
                        got, 0, len);
                assertArrayEquals(want, got, "start " + start);
            }
            assertThrows(IllegalArgumentException.class, () -> Packed4Codec.dequantize(packed, 0, n,
                    FourBitCodebook.NF4, 64, absmax, 0, seg.asSlice(0, 4L * n - 4), 0));
        }
    }

    @Test
    void subnormalBlocksAreNormalisedByDivision() {
        float[] x = new float[64];
        for (int i = 0; i < 64; i++) {
            x[i] = (i % 5 - 2) * Float.MIN_VALUE;
        }
        byte[] p1 = new byte[32];
        byte[] p2 = new byte[32];
        float[] a = new float[2];
        Packed4Codec.quantize(x, 0, 64, FourBitCodebook.NF4, 32, p1, a);
        Packed4Codec.quantizeScalar(x, 0, 64, FourBitCodebook.NF4, 32, p2, a);
        assertArrayEquals(p2, p1);
        float[] d = new float[64];
        Packed4Codec.dequantize(p1, 0, 64, FourBitCodebook.NF4, 32, a, 0, d, 0);
        for (int i = 0; i < 64; i++) {
            assertEquals(x[i], d[i], Float.MIN_VALUE, "element " + i);
        }
    }

    @Test
    void rejectsBadBlockSizes() {
        for (int b : new int[] {16, 48, 8192}) {
            assertThrows(IllegalArgumentException.class, () -> Packed4Codec.checkBlockSize(b));
        }
    }
}
