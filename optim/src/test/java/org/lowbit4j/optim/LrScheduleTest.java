package org.lowbit4j.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
    @Test
    void constant() {
        var s = new LrSchedule.Constant(0.3);
        assertEquals(0.3, s.lr(0));
        assertEquals(0.3, s.lr(1_000_000));
        assertThrows(IllegalArgumentException.class, () -> s.lr(-1));
    }

    @Test
    void warmupCosineBoundaries() {
        var s = new LrSchedule.WarmupCosine(1.0, 0.1, 10, 110);
        assertEquals(0.0, s.lr(0));
        assertEquals(0.5, s.lr(5), 1e-15);
        assertEquals(0.9, s.lr(9), 1e-15);
        assertEquals(1.0, s.lr(10));          // warm-up end = peak
        assertEquals(0.55, s.lr(60), 1e-15);  // half way: (max + min) / 2
        assertEquals(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), s.lr(35), 1e-15);
        assertEquals(0.1, s.lr(110));         // decay end
        assertEquals(0.1, s.lr(5000));        // beyond
        var noWarmup = new LrSchedule.WarmupCosine(1.0, 0.0, 0, 4);
        assertEquals(1.0, noWarmup.lr(0));
        assertEquals(0.5, noWarmup.lr(2), 1e-15);
        assertEquals(0.0, noWarmup.lr(4));
    }

    @Test
    void warmupLinearBoundaries() {
        var s = new LrSchedule.WarmupLinear(2.0, 0.0, 4, 8);
        assertEquals(0.0, s.lr(0));
        assertEquals(1.0, s.lr(2));
        assertEquals(2.0, s.lr(4));
        assertEquals(1.0, s.lr(6));
        assertEquals(0.0, s.lr(8));
        assertEquals(0.0, s.lr(9));
    }

    @Test
    void validates() {
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.WarmupCosine(0.1, 0.2, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.WarmupCosine(0.1, 0.0, 20, 10));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.WarmupLinear(0.1, 0.0, -1, 10));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.Constant(-0.1));
    }
}
