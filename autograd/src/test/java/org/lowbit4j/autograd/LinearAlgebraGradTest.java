package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** linear, matmul and embedding: values against plain loops and float64 gradient checks. */
class LinearAlgebraGradTest {

    @Test
    void linearGradients() {
        Tensor x = param(20, 2, 3, 4);
        Tensor w = param(21, 5, 4);
        GradientCheck.assertGradients("linear 3-D", () -> F.linear(x, w), x, w);
        Tensor x2 = param(22, 3, 4);
        GradientCheck.assertGradients("linear 2-D", () -> F.linear(x2, w), x2, w);
    }

    @Test
    void linearValuesAndFrozenWeight() {
        Tensor x = param(23, 2, 3, 4);
        Tensor w = Tensor.constant(TestArrays.uniform(24, -1, 1, 5, 4));
        Tensor y = F.linear(x, w);
        assertArrayEquals(new long[] {2, 3, 5}, y.shape());
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                for (int o = 0; o < 5; o++) {
                    double s = 0;
                    for (int i = 0; i < 4; i++) {
                        s += x.value().getDouble(b, t, i) * w.value().getDouble(o, i);
                    }
                    assertEquals(s, y.value().getDouble(b, t, o), 1e-14);
                }
            }
        }
        F.sum(y, false).backward();
        assertArrayEquals(new long[] {2, 3, 4}, x.grad().shape());
        assertNull(w.grad());
        GradientCheck.assertGradients("linear frozen w", () -> F.linear(x, w), x);
        var e = assertThrows(IllegalArgumentException.class, () -> F.linear(x, param(1, 5, 3)));
        assertTrue(e.getMessage().contains("[5, 3]"), e.getMessage());
    }

    @Test
    void matmulBatchedBroadcast() {
        Tensor a = param(25, 2, 3, 4);
        Tensor b = param(26, 2, 4, 2);
        GradientCheck.assertGradients("matmul batched", () -> F.matmul(a, b), a, b);
        Tensor b2 = param(27, 4, 2);
        GradientCheck.assertGradients("matmul broadcast b", () -> F.matmul(a, b2), a, b2);
        Tensor a3 = param(28, 3, 1, 1, 4);
        Tensor b3 = param(29, 2, 4, 3);
        GradientCheck.assertGradients("matmul broadcast both", () -> F.matmul(a3, b3), a3, b3);
        Tensor y = F.matmul(a3, b3);
        assertArrayEquals(new long[] {3, 2, 1, 3}, y.shape());
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 2; j++) {
                for (int p = 0; p < 3; p++) {
                    double s = 0;
                    for (int k = 0; k < 4; k++) {
                        s += a3.value().getDouble(i, 0, 0, k) * b3.value().getDouble(j, k, p);
                    }
                    assertEquals(s, y.value().getDouble(i, j, 0, p), 1e-14);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> F.matmul(a, param(1, 2, 3, 2)));
    }

    @Test
    void embeddingGatherAndRepeatedIndices() {
        Tensor w = param(30, 6, 3);
        INDArray idx = TestArrays.longs(new long[] {1, 4, 1, 0, 1, 5}, 2, 3);
        Tensor y = F.embedding(w, idx);
        assertArrayEquals(new long[] {2, 3, 3}, y.shape());
        assertEquals(w.value().getDouble(4, 2), y.value().getDouble(0, 1, 2));
        assertEquals(w.value().getDouble(5, 0), y.value().getDouble(1, 2, 0));
        GradientCheck.assertGradients("embedding", () -> F.embedding(w, idx), w);
        w.zeroGrad();
        F.sum(F.embedding(w, idx), false).backward();
        // row 1 is used three times, rows 2 and 3 never
        assertEquals(3.0, w.grad().getDouble(1, 0));
        assertEquals(0.0, w.grad().getDouble(2, 1));
        assertEquals(1.0, w.grad().getDouble(0, 2));
    }

    @Test
    void embeddingRejectsBadIndices() {
        Tensor w = param(31, 6, 3);
        var e = assertThrows(IllegalArgumentException.class,
                () -> F.embedding(w, TestArrays.longs(new long[] {0, 6}, 2)));
        assertTrue(e.getMessage().contains("6") && e.getMessage().contains("[0, 6)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> F.embedding(w, TestArrays.longs(new long[] {-1}, 1)));
        assertThrows(IllegalArgumentException.class, () -> F.embedding(w, TestArrays.uniform(1, 0, 1, 2)));
    }
}
