package org.lowbit4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lowbit4j.autograd.TestArrays.param;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The tape: accumulation, zeroGrad, noGrad, determinism and single use. */
class EngineTest {

    private static Tensor loss(Tensor x, Tensor w) {
        // a small model with shared use of x: sum(silu(x W^T) * x W^T) + mean(x * x)
        Tensor h = F.linear(x, w);
        return F.add(F.sum(F.mul(F.silu(h), h), false), F.mean(F.mul(x, x), false));
    }

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor x = param(40, 3, 4);
        Tensor w = param(41, 5, 4);
        loss(x, w).backward();
        INDArray once = w.grad().dup();
        loss(x, w).backward();
        assertEquals(once.mul(2), w.grad());
        w.zeroGrad();
        assertNull(w.grad());
        loss(x, w).backward();
        assertEquals(once, w.grad());
    }

    @Test
    void accumulationNeverWritesIntoSeeds() {
        // AddScalar's backward returns gradOutput itself, so the parameter's first gradient aliases
        // the seed; accumulating the second backward must not write into that seed.
        Tensor x = param(42, 3);
        INDArray seed1 = TestArrays.uniform(1, -1, 1, 3);
        INDArray copy1 = seed1.dup();
        F.addScalar(x, 1).backward(seed1);
        F.addScalar(x, 1).backward(TestArrays.uniform(2, -1, 1, 3));
        assertArrayEquals(TestArrays.flat(copy1), TestArrays.flat(seed1), 0.0);
        assertArrayEquals(TestArrays.flat(copy1.add(TestArrays.uniform(2, -1, 1, 3))), TestArrays.flat(x.grad()), 0.0);
    }

    @Test
    void noGradRecordsNothing() {
        Tensor x = param(43, 3, 4);
        Tensor w = param(44, 5, 4);
        Tensor y;
        try (var _ = GradMode.noGrad()) {
            assertFalse(GradMode.isEnabled());
            y = loss(x, w);
        }
        assertTrue(GradMode.isEnabled());
        assertFalse(y.requiresGrad());
        assertTrue(y.isLeaf());
        assertNull(y.creator());
        assertThrows(IllegalStateException.class, y::backward);
    }

    @Test
    void deterministicBitForBit() {
        Tensor x = param(45, 3, 4);
        Tensor w = param(46, 5, 4);
        loss(x, w).backward();
        INDArray gx = x.grad().dup();
        INDArray gw = w.grad().dup();
        x.zeroGrad();
        w.zeroGrad();
        loss(x, w).backward();
        assertArrayEquals(TestArrays.flat(gx), TestArrays.flat(x.grad()), 0.0);
        assertArrayEquals(TestArrays.flat(gw), TestArrays.flat(w.grad()), 0.0);
    }

    @Test
    void secondBackwardThroughWalkedTapeFails() {
        Tensor x = param(47, 3, 4);
        Tensor w = param(48, 5, 4);
        Tensor l = loss(x, w);
        l.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, l::backward);
        assertTrue(e.getMessage().contains("already walked"), e.getMessage());
    }

    @Test
    void gradientOfWholeComposite() {
        Tensor x = param(49, 3, 4);
        Tensor w = param(50, 5, 4);
        GradientCheck.assertGradients("engine composite", () -> loss(x, w), x, w);
    }
}
