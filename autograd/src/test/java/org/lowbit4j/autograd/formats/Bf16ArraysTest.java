package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** FLOAT <-> BFLOAT16 array conversion: the stored bits are Bf16.encode's, for any input layout. */
class Bf16ArraysTest {
    @Test
    void toBf16StoresEncodeBitsForEveryLayout() {
        Random r = new Random(8);
        INDArray c = Nd4j.create(DataType.FLOAT, 9, 14);
        for (long i = 0; i < c.length(); i++) {
            c.putScalar(i, Float.intBitsToFloat(r.nextInt()));
        }
        c.putScalar(0, Float.NaN);
        c.putScalar(1, Float.intBitsToFloat(0x7F800001)); // signalling NaN: must not become infinity
        c.putScalar(2, 1f + 0x1p-8f); // tie
        INDArray[] inputs = {c, c.transpose(), c.dup('f'), c.get(NDArrayIndex.interval(1, 2, 8), NDArrayIndex.all())};
        for (INDArray x : inputs) {
            INDArray b = Bf16Arrays.toBf16(x);
            assertEquals(DataType.BFLOAT16, b.dataType());
            assertArrayEquals(x.shape(), b.shape());
            INDArray xc = x.dup('c');
            var seg = NativeArrays.segment(b);
            for (long i = 0; i < xc.length(); i++) {
                short want = Bf16.encode(xc.getFloat(i));
                assertEquals(want, seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i), "element " + i);
            }
            INDArray back = Bf16Arrays.toFloat(b);
            assertEquals(DataType.FLOAT, back.dataType());
            for (long i = 0; i < xc.length(); i++) {
                assertEquals(Float.floatToRawIntBits(Bf16.decode(Bf16.encode(xc.getFloat(i)))),
                        Float.floatToRawIntBits(back.getFloat(i)), "element " + i);
            }
        }
        INDArray b = Bf16Arrays.toBf16(c);
        assertTrue(Float.isNaN(Bf16Arrays.toFloat(b).getFloat(1)), "NaN stays NaN");
        assertEquals(1f, Bf16Arrays.toFloat(b).getFloat(2), "ties to even");
        // widening a transposed bf16 view
        INDArray bt = Bf16Arrays.toFloat(b.transpose());
        assertEquals(Bf16Arrays.toFloat(b).getFloat(3, 5), bt.getFloat(5, 3));
    }

    @Test
    void reuseAndErrors() {
        INDArray x = Nd4j.createFromArray(new float[][] {{1.5f, 2f}, {3f, -0f}});
        INDArray out = Nd4j.create(DataType.BFLOAT16, 2, 2);
        Bf16Arrays.toBf16(x, out);
        assertEquals(x, Bf16Arrays.toFloat(out));
        assertEquals(0, Bf16Arrays.toBf16(Nd4j.create(DataType.FLOAT, 0, 3)).length());
        assertThrows(IllegalArgumentException.class, () -> Bf16Arrays.toBf16(Nd4j.create(DataType.DOUBLE, 2)));
        assertThrows(IllegalArgumentException.class, () -> Bf16Arrays.toFloat(x));
        assertThrows(IllegalArgumentException.class, () -> Bf16Arrays.toBf16(x, Nd4j.create(DataType.BFLOAT16, 2, 3)));
        assertThrows(IllegalArgumentException.class,
                () -> Bf16Arrays.toBf16(x, Nd4j.create(DataType.BFLOAT16, new long[] {2, 2}, 'f')));
    }
}
