package org.lowbit4j.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every Vector API kernel against its scalar twin, on lengths that exercise the tail loops. */
class KernelsTest {
    private static final long[] LENGTHS = {0, 1, 3, 7, 8, 15, 16, 17, 64, 100, 513};

    private static MemorySegment random(Arena arena, long n, long seed, float lo, float hi) {
        MemorySegment m = arena.allocate(Math.max(n, 1) * 4, 64);
        Random r = new Random(seed);
        for (long i = 0; i < n; i++) {
            m.setAtIndex(ValueLayout.JAVA_FLOAT, i, lo + (hi - lo) * r.nextFloat());
        }
        return m;
    }

    private static MemorySegment copy(Arena arena, MemorySegment m) {
        MemorySegment c = arena.allocate(m.byteSize(), 64);
        c.copyFrom(m);
        return c;
    }

    private static void assertClose(MemorySegment want, MemorySegment got, long n, double rel, String what) {
        for (long i = 0; i < n; i++) {
            float a = want.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            float b = got.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            assertEquals(a, b, rel * Math.max(1, Math.abs(a)), what + " n=" + n + " i=" + i);
        }
    }

    @Test
    void elementwiseKernelsMatchScalarTwins() {
        try (Arena arena = Arena.ofConfined()) {
            for (long n : LENGTHS) {
                MemorySegment x = random(arena, n, n, -8, 8);
                MemorySegment g = random(arena, n, n + 1, -1, 1);
                MemorySegment a = random(arena, n, 0, 0, 0);
                MemorySegment b = random(arena, n, 0, 0, 0);
                Kernels.siluForward(x, a, n);
                Kernels.siluForwardScalar(x, b, n);
                assertClose(b, a, n, 1e-6, "siluForward");
                Kernels.siluBackward(x, g, a, n);
                Kernels.siluBackwardScalar(x, g, b, n);
                assertClose(b, a, n, 1e-6, "siluBackward");
                Kernels.expShiftScale(x, 0, a, 0, n, 3f, 0.5f);
                Kernels.expShiftScaleScalar(x, 0, b, 0, n, 3f, 0.5f);
                assertClose(b, a, n, 1e-6, "expShiftScale");
                MemorySegment s1 = copy(arena, x);
                MemorySegment s2 = copy(arena, x);
                Kernels.scale(s1, 0, n, -1.7f);
                Kernels.scaleScalar(s2, 0, n, -1.7f);
                assertClose(s2, s1, n, 0, "scale");
                MemorySegment w = random(arena, n, 5, -2, 2);
                Kernels.scaleMul(x, 0, w, a, n, 0.3f);
                Kernels.scaleMulScalar(x, 0, w, b, n, 0.3f);
                assertClose(b, a, n, 1e-6, "scaleMul");
                MemorySegment d1 = copy(arena, g);
                MemorySegment d2 = copy(arena, g);
                Kernels.softmaxGrad(w, 0, d1, 0, n, 0.25f, 0.125f);
                Kernels.softmaxGradScalar(w, 0, d2, 0, n, 0.25f, 0.125f);
                assertClose(d2, d1, n, 1e-6, "softmaxGrad");
            }
        }
    }

    @Test
    void reductionsMatchScalarTwins() {
        try (Arena arena = Arena.ofConfined()) {
            for (long n : LENGTHS) {
                MemorySegment x = random(arena, n, 3 * n, -5, 5);
                MemorySegment y = random(arena, n, 3 * n + 1, -1, 1);
                assertEquals(Kernels.maxScalar(x, 0, n), Kernels.max(x, 0, n), 0f, "max n=" + n);
                assertEquals(Kernels.dotScalar(x, 0, y, 0, n), Kernels.dot(x, 0, y, 0, n), 1e-5 * Math.max(1, n), "dot n=" + n);
                MemorySegment a = copy(arena, x);
                MemorySegment b = copy(arena, x);
                double sa = Kernels.expShift(a, 0, a, 0, n, 5f, true);
                double sb = Kernels.expShiftScalar(b, 0, b, 0, n, 5f, true);
                assertEquals(sb, sa, 1e-6 * Math.max(1, sb), "expShift sum n=" + n);
                assertClose(b, a, n, 1e-6, "expShift values");
                assertEquals(sb, Kernels.expShift(x, 0, null, 0, n, 5f, false), 1e-6 * Math.max(1, sb));
            }
        }
    }

    @Test
    void offsetsAreElementOffsets() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = random(arena, 40, 9, -1, 1);
            assertEquals(Kernels.maxScalar(x, 13, 20), Kernels.max(x, 13, 20), 0f);
            assertEquals(Kernels.dotScalar(x, 3, x, 17, 21), Kernels.dot(x, 3, x, 17, 21), 1e-5);
        }
    }
}
