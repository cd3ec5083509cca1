package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The fp32 -> fp32 rounding kernels of {@link Bf16} and {@link Fp16}: bit for bit
 * {@code decode(encode(x))} (the reference semantics, themselves checked against a slow exact
 * reference in HalfFloatTest) on every code's neighbourhood and midpoint, all special values and 10^7 (5·10^6 per format)
 * random bit patterns, vector kernel = scalar twin = scalar function; ties to even checked
 * independently; the INDArray in-place forms on dense and strided layouts.
 */
class HalfFloatRoundTest {
    /** One of the two formats, seen through its public functions. */
    record Format(String name, IntUnaryOperator roundBits, IntUnaryOperator referenceBits, Kernel vector,
            Kernel scalar, int maxFiniteCode, int mantissaBits) {
        float decodeCode(int code) {
            return name.equals("bf16") ? Bf16.decode((short) code) : Fp16.decode((short) code);
        }
    }

    @FunctionalInterface
    interface Kernel {
        void run(MemorySegment src, MemorySegment dst, long n);
    }

    static final Format BF16 = new Format("bf16",
            b -> Float.floatToRawIntBits(Bf16.round(Float.intBitsToFloat(b))),
            b -> Float.floatToRawIntBits(Bf16.decode(Bf16.encode(Float.intBitsToFloat(b)))),
            Bf16::round, Bf16::roundScalar, 0x7F7F, 7);
    static final Format FP16 = new Format("fp16",
            b -> Float.floatToRawIntBits(Fp16.round(Float.intBitsToFloat(b))),
            b -> Float.floatToRawIntBits(Fp16.decode(Fp16.encode(Float.intBitsToFloat(b)))),
            Fp16::round, Fp16::roundScalar, 0x7BFF, 10);

    /** Every finite code's value, the midpoint to the next code, and a few fp32 ulps around both, both signs. */
    static int[] neighbourhoods(Format f) {
        int per = 2 * 2 * 9;
        int[] out = new int[(f.maxFiniteCode() + 1) * per];
        int o = 0;
        for (int code = 0; code <= f.maxFiniteCode(); code++) {
            float v = f.decodeCode(code);
            // the next code's value; past the largest finite value, the first value that overflows
            double next = code == f.maxFiniteCode() ? Math.scalb(1.0, Math.getExponent(v) + 1)
                    : f.decodeCode(code + 1);
            float mid = (float) ((v + next) / 2); // exact: one more significand bit than the format
            for (int center : new int[] {Float.floatToRawIntBits(v), Float.floatToRawIntBits(mid)}) {
                for (int d = -4; d <= 4; d++) {
                    int bits = Math.max(0, center + d);
                    out[o++] = bits;
                    out[o++] = bits | 0x80000000;
                }
            }
        }
        return out;
    }

    static int[] specials() {
        return new int[] {0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001,
            0x7FBFFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x7F802000, 0x7FA00000, 0x00000001, 0x80000001, 0x00800000,
            0x007FFFFF, 0x7F7FFFFF, 0xFF7FFFFF, Float.floatToRawIntBits(65504f), Float.floatToRawIntBits(65519.996f),
            Float.floatToRawIntBits(65520f), Float.floatToRawIntBits(-65520f), Float.floatToRawIntBits(65536f),
            Float.floatToRawIntBits(0x1p-24f), Float.floatToRawIntBits(0x1p-25f),
            Float.floatToRawIntBits(-0x1p-25f), Float.floatToRawIntBits(Math.nextUp(0x1p-25f)),
            Float.floatToRawIntBits(3 * 0x1p-26f), Float.floatToRawIntBits(0x1p-14f),
            Float.floatToRawIntBits(Math.nextDown(0x1p-14f)), Float.floatToRawIntBits(3.3895314e38f),
            Float.floatToRawIntBits(3.4e38f), Float.floatToRawIntBits(1f)};
    }

    /** All three implementations agree with decode(encode(x)) bit for bit on every input. */
    static void assertAllAgree(Format f, int[] bits) {
        int n = bits.length;
        float[] src = new float[n];
        for (int i = 0; i < n; i++) {
            src[i] = Float.intBitsToFloat(bits[i]);
        }
        // NOTE: Java keeps NaN payloads through intBitsToFloat and array stores on x86 (no canonicalisation).
        try (Arena arena = Arena.ofConfined()) {
            // native, 4 bytes off a 32-byte boundary: exercises the scalar head, the vector body and the tail
            MemorySegment in = arena.allocate(4L * n + 4, 32).asSlice(4);
            MemorySegment outV = arena.allocate(4L * n + 4, 32).asSlice(4);
            MemorySegment outS = arena.allocate(4L * n, 32);
            MemorySegment.copy(MemorySegment.ofArray(src), 0, in, 0, 4L * n);
            f.vector().run(in, outV, n);
            f.scalar().run(in, outS, n);
            float[] heapOut = new float[n];
            f.vector().run(MemorySegment.ofArray(src), MemorySegment.ofArray(heapOut), n);
            for (int i = 0; i < n; i++) {
                int want = f.referenceBits().applyAsInt(bits[i]);
                int x = bits[i];
                if (want != f.roundBits().applyAsInt(x) || want != outV.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i)
                        || want != outS.getAtIndex(ValueLayout.JAVA_INT, i)
                        || want != Float.floatToRawIntBits(heapOut[i])) {
                    String at = f.name() + " x = 0x" + Integer.toHexString(x) + " (" + src[i] + ")";
                    assertEquals(want, f.roundBits().applyAsInt(x), at);
                    assertEquals(want, outV.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i), "vector, " + at);
                    assertEquals(want, outS.getAtIndex(ValueLayout.JAVA_INT, i), "scalar twin, " + at);
                    assertEquals(want, Float.floatToRawIntBits(heapOut[i]), "vector on heap, " + at);
                }
            }
            // in place on the same segment
            f.vector().run(in, in, n);
            for (int i = 0; i < n; i++) {
                int x = bits[i];
                assertEquals(outS.getAtIndex(ValueLayout.JAVA_INT, i), in.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i),
                        () -> "in place, " + f.name() + " x = 0x" + Integer.toHexString(x));
            }
        }
    }

    static int[] randomBits(long seed, int n) {
        Random r = new Random(seed);
        int[] bits = new int[n];
        for (int i = 0; i < n; i++) {
            bits[i] = r.nextInt();
        }
        return bits;
    }

    @Test
    void bf16AgreesEverywhere() {
        assertAllAgree(BF16, specials());
        assertAllAgree(BF16, neighbourhoods(BF16));
        assertAllAgree(BF16, randomBits(1, 5_000_000));
    }

    @Test
    void fp16AgreesEverywhere() {
        assertAllAgree(FP16, specials());
        assertAllAgree(FP16, neighbourhoods(FP16));
        assertAllAgree(FP16, randomBits(2, 5_000_000));
        // a second random set concentrated in and around fp16's range, where the interesting cases are
        Random r = new Random(3);
        int[] near = new int[2_000_000];
        for (int i = 0; i < near.length; i++) {
            near[i] = (r.nextBoolean() ? 0x80000000 : 0) | ((127 - 30 + r.nextInt(50)) << 23) | r.nextInt(1 << 23);
        }
        assertAllAgree(FP16, near);
    }

    /** Independent of encode/decode: exact midpoints go to the even neighbour, values nearer go to the nearer one. */
    @Test
    void tiesGoToEvenAndNonTiesToNearest() {
        for (Format f : new Format[] {BF16, FP16}) {
            for (int code = 0; code < f.maxFiniteCode(); code++) {
                float v = f.decodeCode(code);
                float next = f.decodeCode(code + 1);
                float mid = (float) (((double) v + next) / 2);
                float even = code % 2 == 0 ? v : next;
                assertEquals(Float.floatToRawIntBits(even), f.roundBits().applyAsInt(Float.floatToRawIntBits(mid)),
                        f.name() + " tie at code " + code);
                assertEquals(Float.floatToRawIntBits(v),
                        f.roundBits().applyAsInt(Float.floatToRawIntBits(Math.nextDown(mid))), f.name() + " below tie");
                assertEquals(Float.floatToRawIntBits(next),
                        f.roundBits().applyAsInt(Float.floatToRawIntBits(Math.nextUp(mid))), f.name() + " above tie");
            }
        }
    }

    @Test
    void specialValues() {
        for (Format f : new Format[] {BF16, FP16}) {
            assertEquals(0x7F800000, f.roundBits().applyAsInt(0x7F800000), f.name());
            assertEquals(0xFF800000, f.roundBits().applyAsInt(0xFF800000), f.name());
            assertEquals(0x80000000, f.roundBits().applyAsInt(0x80000000), f.name());
            assertEquals(0x80000000, f.roundBits().applyAsInt(0x80000001), f.name() + ": underflow keeps the sign");
            for (int nan : new int[] {0x7F800001, 0xFF800001, 0x7FC00000, 0xFFFFFFFF, 0x7F802000}) {
                int got = f.roundBits().applyAsInt(nan);
                assertTrue(Float.isNaN(Float.intBitsToFloat(got)), f.name() + " NaN stays NaN: " + Integer.toHexString(nan));
                assertEquals(0x00400000, got & 0x00400000, f.name() + " quiet NaN");
                assertEquals(nan & 0x80000000, got & 0x80000000, f.name() + " NaN sign");
            }
        }
        // fp16: overflow threshold and subnormals
        assertEquals(65504f, Fp16.round(65519.996f));
        assertEquals(Float.POSITIVE_INFINITY, Fp16.round(65520f));
        assertEquals(Float.NEGATIVE_INFINITY, Fp16.round(-1e6f));
        assertEquals(0x1p-24f, Fp16.round(Math.nextUp(0x1p-25f)));
        assertEquals(0x80000000, Float.floatToRawIntBits(Fp16.round(-0x1p-25f)), "tie to the even zero, signed");
        assertEquals(0x1p-23f, Fp16.round(3 * 0x1p-25f), "tie between 1 and 2 ulps of 2^-24 goes to 2");
        assertEquals(0x1p-14f, Fp16.round(Math.nextDown(0x1p-14f)), "rounds up into the normal range");
        // bf16 keeps fp32's range: no overflow until past the largest bf16
        assertEquals(Float.intBitsToFloat(0x7F7F0000), Bf16.round(3.3895314e38f));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.MAX_VALUE));
        assertEquals(1f, Bf16.round(1f + 0x1p-8f), "tie to even");
        assertEquals(1f + 0x1p-6f, Bf16.round(1f + 3 * 0x1p-8f), "tie to even, upwards");
    }

    @Test
    void segmentSizesAreChecked() {
        MemorySegment four = MemorySegment.ofArray(new float[4]);
        MemorySegment three = MemorySegment.ofArray(new float[3]);
        assertThrows(IllegalArgumentException.class, () -> Bf16.round(four, three, 4));
        assertThrows(IllegalArgumentException.class, () -> Fp16.round(three, four, 4));
        assertThrows(IllegalArgumentException.class, () -> Fp16.roundScalar(four, four, -1));
    }

    /** roundInPlace on C, F, permuted, strided (only the view changes) and empty arrays. */
    @Test
    void roundInPlaceOnEveryLayout() {
        Random r = new Random(4);
        for (boolean bf16 : new boolean[] {true, false}) {
            java.util.function.Consumer<INDArray> op = bf16 ? Bf16::roundInPlace : Fp16::roundInPlace;
            java.util.function.DoubleUnaryOperator ref = bf16 ? x -> Bf16.round((float) x) : x -> Fp16.round((float) x);
            INDArray c = randn(r, Nd4j.create(DataType.FLOAT, new long[] {7, 13}, 'c'));
            INDArray f = randn(r, Nd4j.create(DataType.FLOAT, new long[] {7, 13}, 'f'));
            INDArray p = randn(r, Nd4j.create(DataType.FLOAT, 3, 5, 6)).permute(2, 0, 1);
            for (INDArray x : new INDArray[] {c, f, p}) {
                INDArray before = x.dup();
                op.accept(x);
                assertRounded(before, x, ref);
            }
            INDArray big = randn(r, Nd4j.create(DataType.FLOAT, 8, 10));
            INDArray bigBefore = big.dup();
            INDArray view = big.get(NDArrayIndex.interval(1, 7), NDArrayIndex.interval(0, 2, 10));
            INDArray viewBefore = view.dup();
            op.accept(view);
            assertRounded(viewBefore, view, ref);
            for (int i = 0; i < 8; i++) {
                for (int j = 0; j < 10; j++) {
                    boolean inView = i >= 1 && i < 7 && j % 2 == 0;
                    if (!inView) {
                        assertEquals(bigBefore.getFloat(i, j), big.getFloat(i, j), "outside the view untouched");
                    }
                }
            }
            op.accept(Nd4j.create(DataType.FLOAT, 0, 3));
            assertThrows(IllegalArgumentException.class, () -> op.accept(Nd4j.create(DataType.DOUBLE, 2, 2)));
        }
    }

    static INDArray randn(Random r, INDArray x) {
        long[] shape = x.shape();
        for (long i = 0; i < x.length(); i++) {
            long[] idx = new long[shape.length];
            long rest = i;
            for (int d = shape.length - 1; d >= 0; d--) {
                idx[d] = rest % shape[d];
                rest /= shape[d];
            }
            x.putScalar(idx, (float) (r.nextGaussian() * 1000));
        }
        return x;
    }

    static void assertRounded(INDArray before, INDArray after, java.util.function.DoubleUnaryOperator ref) {
        INDArray b = before.dup('c');
        INDArray a = after.dup('c');
        boolean changed = false;
        for (long i = 0; i < b.length(); i++) {
            float want = (float) ref.applyAsDouble(b.getFloat(i));
            assertEquals(want, a.getFloat(i), "element " + i);
            changed |= want != b.getFloat(i);
        }
        assertTrue(changed, "random values must actually change");
    }

    /** The one-pass rounded copy equals dup + roundInPlace bit for bit, for C, F and strided inputs, and leaves x alone. */
    @Test
    void roundedCopyEqualsDupThenRoundInPlace() {
        Random rnd = new Random(9);
        INDArray c = Nd4j.create(DataType.FLOAT, 37, 53);
        for (long i = 0; i < c.length(); i++) {
            c.putScalar(i, (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(12) - 8)));
        }
        INDArray[] inputs = {c, c.dup('f'), c.get(NDArrayIndex.interval(0, 2, 37), NDArrayIndex.all()), c.transpose(),
            Nd4j.create(DataType.FLOAT, 0, 4)};
        for (INDArray x : inputs) {
            INDArray before = x.dup();
            for (boolean bf16 : new boolean[] {true, false}) {
                INDArray want = x.dup('c');
                if (bf16) {
                    Bf16.roundInPlace(want);
                } else {
                    Fp16.roundInPlace(want);
                }
                INDArray got = bf16 ? Bf16.rounded(x) : Fp16.rounded(x);
                assertEquals('c', got.ordering());
                assertEquals(want, got);
                assertEquals(before, x, "the input is not modified");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Bf16.rounded(Nd4j.create(DataType.DOUBLE, 2)));
        assertThrows(IllegalArgumentException.class, () -> Fp16.rounded(Nd4j.create(DataType.DOUBLE, 2)));
    }
}
