package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** RoPE in llama2.c's interleaved-pair convention. */
class RopeTest {

    @Test
    void handExampleInterleavedPairs() {
        // one head of size 4 at positions 0 and 1: pair (0,1) turns by pos * 1 rad,
        // pair (2,3) by pos * 10000^(-2/4) = pos * 0.01 rad. A half-split (NeoX) layout would
        // pair (0,2) and (1,3) instead and give different numbers.
        INDArray x = Nd4j.createFromArray(1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0).reshape(1, 2, 1, 4);
        double[] y = TestArrays.flat(F.rope(Tensor.constant(x), 0, 10000).value());
        double[] expect = {1, 0, 0, 1, Math.cos(1), Math.sin(1), -Math.sin(0.01), Math.cos(0.01)};
        assertArrayEquals(expect, y, 1e-15);
        // startPos shifts every position: position 0 of the second call is position 1
        double[] shifted = TestArrays.flat(F.rope(Tensor.constant(x.get(
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1))
                .dup()), 1, 10000).value());
        assertArrayEquals(java.util.Arrays.copyOfRange(expect, 4, 8), shifted, 1e-15);
    }

    @Test
    void valuesAgainstLoop() {
        int b = 2, t = 3, h = 2, d = 6;
        long start = 5;
        double theta = 500;
        INDArray x = TestArrays.uniform(70, -1, 1, b, t, h, d);
        INDArray y = F.rope(Tensor.constant(x), start, theta).value();
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (int hi = 0; hi < h; hi++) {
                    for (int i = 0; i < d; i += 2) {
                        double ang = (start + ti) / Math.pow(theta, (double) i / d);
                        double v0 = x.getDouble(bi, ti, hi, i);
                        double v1 = x.getDouble(bi, ti, hi, i + 1);
                        assertEquals(v0 * Math.cos(ang) - v1 * Math.sin(ang), y.getDouble(bi, ti, hi, i), 1e-14);
                        assertEquals(v0 * Math.sin(ang) + v1 * Math.cos(ang), y.getDouble(bi, ti, hi, i + 1), 1e-14);
                    }
                }
            }
        }
    }

    @Test
    void gradientAndInverse() {
        Tensor x = param(71, 2, 3, 2, 4);
        GradientCheck.assertGradients("rope", () -> F.rope(x, 0, 10000), x);
        GradientCheck.assertGradients("rope start 7", () -> F.rope(x, 7, 100), x);
        // rotation preserves the norm of every pair
        INDArray y = F.rope(Tensor.constant(x.value()), 3, 10000).value();
        assertEquals(x.value().norm2Number().doubleValue(), y.norm2Number().doubleValue(), 1e-12);
    }

    @Test
    void floatKeepsType() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 1, 4, 2, 8);
        Tensor p = Tensor.parameter(x);
        Tensor y = F.rope(p, 0, 10000);
        assertEquals(DataType.FLOAT, y.dataType());
        F.sum(y, false).backward();
        assertEquals(DataType.FLOAT, p.grad().dataType());
    }

    @Test
    void rejectsOddHeadSize() {
        assertThrows(IllegalArgumentException.class, () -> F.rope(param(1, 1, 2, 1, 3), 0, 10000));
        assertThrows(IllegalArgumentException.class, () -> F.rope(param(1, 2, 4), 0, 10000));
    }
}
