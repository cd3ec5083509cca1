package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Arrays large enough to be split over the cores ({@link DenseBlock#split}): every element, on either side of
 * every range edge, gets the scalar twin's bits, for bf16 narrowing and widening and bf16/fp16 rounding in place
 * and by copy.
 */
class SplitConversionTest {
    /** Above the split threshold and not a multiple of the range alignment, so the last range is ragged. */
    private static final int N = (int) org.lowbit4j.autograd.blas.Gemm.RANGE_PARALLEL_MIN * 2 + 77;

    private static INDArray randomBits(long seed) {
        Random r = new Random(seed);
        float[] v = new float[N];
        for (int i = 0; i < N; i++) {
            v[i] = Float.intBitsToFloat(r.nextInt());
        }
        v[N / 2] = 1f + 0x1p-8f;                     // a bf16 tie, near the middle edge
        v[N / 2 + 1] = Float.intBitsToFloat(0x7F800001); // signalling NaN
        v[N - 1] = 65520f;                            // overflows fp16 to infinity
        return Nd4j.createFromArray(v).reshape('c', 1, N);
    }

    @Test
    void bf16NarrowAndWidenMatchScalarTwins() {
        assertTrue(N >= org.lowbit4j.autograd.blas.Gemm.RANGE_PARALLEL_MIN, "the test must reach the split path");
        INDArray x = randomBits(3);
        INDArray b = Bf16Arrays.toBf16(x);
        MemorySegment got = NativeArrays.segment(b);
        float[] src = x.data().asFloat();
        short[] want = new short[N];
        Bf16.encodeScalar(MemorySegment.ofArray(src), MemorySegment.ofArray(want), N);
        for (int i = 0; i < N; i++) {
            assertEquals(want[i], got.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i), "bf16 bits of element " + i);
        }
        float[] widened = Bf16Arrays.toFloat(b).data().asFloat();
        for (int i = 0; i < N; i++) {
            assertEquals(Float.floatToRawIntBits(Bf16.decode(want[i])), Float.floatToRawIntBits(widened[i]),
                    "widened element " + i);
        }
    }

    @Test
    void roundingInPlaceAndByCopyMatchScalarTwins() {
        INDArray x = randomBits(4);
        float[] src = x.data().asFloat();
        float[] bf = new float[N];
        float[] hf = new float[N];
        Bf16.roundScalar(MemorySegment.ofArray(src), MemorySegment.ofArray(bf), N);
        Fp16.roundScalar(MemorySegment.ofArray(src), MemorySegment.ofArray(hf), N);
        INDArray inPlaceBf = x.dup();
        Bf16.roundInPlace(inPlaceBf);
        INDArray inPlaceHf = x.dup();
        Fp16.roundInPlace(inPlaceHf);
        float[][] got = {inPlaceBf.data().asFloat(), Bf16.rounded(x).data().asFloat(),
            inPlaceHf.data().asFloat(), Fp16.rounded(x).data().asFloat()};
        float[][] want = {bf, bf, hf, hf};
        String[] what = {"bf16 in place", "bf16 copy", "fp16 in place", "fp16 copy"};
        for (int k = 0; k < got.length; k++) {
            for (int i = 0; i < N; i++) {
                assertEquals(Float.floatToRawIntBits(want[k][i]), Float.floatToRawIntBits(got[k][i]),
                        what[k] + ", element " + i);
            }
        }
        assertEquals(Float.POSITIVE_INFINITY, got[2][N - 1], "fp16 overflow survives the split");
    }
}
