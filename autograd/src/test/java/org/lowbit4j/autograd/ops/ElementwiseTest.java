package org.lowbit4j.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** {@link Elementwise} on arrays: the same bits as ND4J's ops, on both paths and when split over the cores. */
class ElementwiseTest {

    private static INDArray random(DataType type, long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(type, shape).subi(0.5).muli(8);
    }

    @Test
    void sumsAndProductsEqualNd4jBitForBit() {
        // below and above the size that is split over the cores
        for (long n : new long[] {1, 17, 1000, org.lowbit4j.autograd.blas.Gemm.RANGE_PARALLEL_MIN + 77}) {
            INDArray a = random(DataType.FLOAT, n, 3, n);
            INDArray b = random(DataType.FLOAT, n + 1, 3, n);
            assertEquals(a.add(b), Elementwise.add(a, b, Nd4j.createUninitialized(DataType.FLOAT, 3, n)), "add n=" + n);
            assertEquals(a.mul(b), Elementwise.mul(a, b, Nd4j.createUninitialized(DataType.FLOAT, 3, n)), "mul n=" + n);
            INDArray c = Nd4j.createUninitialized(DataType.FLOAT, 3, n);
            assertSame(c, Elementwise.copy(a, c));
            assertEquals(a, c, "copy n=" + n);
        }
    }

    @Test
    void inPlaceOnEitherOperand() {
        INDArray a = random(DataType.FLOAT, 1, 5, 40);
        INDArray b = random(DataType.FLOAT, 2, 5, 40);
        INDArray want = a.add(b);
        INDArray a1 = a.dup();
        assertSame(a1, Elementwise.add(a1, b, a1));
        assertEquals(want, a1);
        INDArray b1 = b.dup();
        assertSame(b1, Elementwise.add(a, b1, b1));
        assertEquals(want, b1);
    }

    @Test
    void viewsAndDoublesTakeNd4jsPath() {
        INDArray base = random(DataType.FLOAT, 4, 6, 8);
        INDArray strided = base.transpose(); // [8, 6], not C-ordered
        INDArray other = random(DataType.FLOAT, 5, 8, 6);
        assertEquals(strided.add(other), Elementwise.add(strided, other, Nd4j.create(DataType.FLOAT, 8, 6)));
        assertEquals(strided.dup('c'), Elementwise.copy(strided, Nd4j.create(DataType.FLOAT, 8, 6)));
        INDArray d1 = random(DataType.DOUBLE, 6, 4, 4);
        INDArray d2 = random(DataType.DOUBLE, 7, 4, 4);
        assertEquals(d1.mul(d2), Elementwise.mul(d1, d2, Nd4j.create(DataType.DOUBLE, 4, 4)));
    }

    @Test
    void shapesMustAgree() {
        INDArray a = Nd4j.zeros(DataType.FLOAT, 2, 3);
        assertThrows(IllegalArgumentException.class, () -> Elementwise.add(a, Nd4j.zeros(DataType.FLOAT, 3, 2), a));
        assertThrows(IllegalArgumentException.class, () -> Elementwise.copy(a, Nd4j.zeros(DataType.FLOAT, 6)));
    }
}
