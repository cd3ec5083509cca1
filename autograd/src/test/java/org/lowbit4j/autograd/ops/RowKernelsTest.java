package org.lowbit4j.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The kernels of {@link RowKernels} and {@link Elementwise} against their scalar twins, bit for bit,
 * on sizes that exercise the tail loops and the partial row blocks.
 */
class RowKernelsTest {

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

    private static void assertBits(MemorySegment want, MemorySegment got, long n, String what) {
        for (long i = 0; i < n; i++) {
            float a = want.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            float b = got.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            assertEquals(Float.floatToRawIntBits(a), Float.floatToRawIntBits(b),
                    what + " i=" + i + ": " + a + " vs " + b);
        }
    }

    @Test
    void rmsNormBackwardMatchesScalarTwinsBitForBit() {
        int[][] shapes = {{1, 1}, {3, 5}, {4, 8}, {5, 17}, {9, 64}, {7, 288}, {13, 100}};
        try (Arena arena = Arena.ofConfined()) {
            for (int[] s : shapes) {
                int rows = s[0];
                int c = s[1];
                MemorySegment x = random(arena, (long) rows * c, rows, -3, 3);
                MemorySegment g = random(arena, (long) rows * c, c, -1, 1);
                MemorySegment w = random(arena, c, 7, 0.5f, 1.5f);
                double[] r = new double[rows];
                Random rnd = new Random(rows + c);
                for (int i = 0; i < rows; i++) {
                    r[i] = 0.5 + rnd.nextDouble();
                }
                MemorySegment dxVec = random(arena, (long) rows * c, 0, 0, 0);
                MemorySegment dxRef = random(arena, (long) rows * c, 0, 0, 0);
                RowKernels.rmsNormInputGradScalar(x, g, w, dxRef, r, c, 0, rows);
                String what = "rmsNorm backward " + rows + "x" + c;
                RowKernels.rmsNormInputGrad(x, g, w, dxVec, r, c, 0, rows);
                assertBits(dxRef, dxVec, (long) rows * c, what + " dx");
                // in two row ranges, as on two cores
                MemorySegment dxSplit = random(arena, (long) rows * c, 0, 0, 0);
                int split = rows / 2;
                RowKernels.rmsNormInputGrad(x, g, w, dxSplit, r, c, 0, split);
                RowKernels.rmsNormInputGrad(x, g, w, dxSplit, r, c, split, rows);
                assertBits(dxRef, dxSplit, (long) rows * c, what + " dx in two ranges");
                double[] dwVec = new double[c];
                double[] dwRef = new double[c];
                RowKernels.rmsNormWeightGrad(x, g, dwVec, r, c, 0, rows);
                RowKernels.rmsNormWeightGradScalar(x, g, dwRef, r, c, 0, rows);
                assertArrayEquals(dwRef, dwVec, 0.0, what + " dw");
            }
        }
    }

    @Test
    void ropeMatchesScalarTwinBitForBitBothWays() {
        // {B, T, H, D}: head sizes below, at and between vector widths
        int[][] shapes = {{1, 1, 1, 2}, {2, 3, 2, 6}, {1, 5, 3, 16}, {2, 4, 2, 18}, {1, 7, 6, 48}, {1, 2, 1, 130}};
        try (Arena arena = Arena.ofConfined()) {
            for (int[] s : shapes) {
                long bt = (long) s[0] * s[1];
                int t = s[1];
                int d = s[3];
                long n = bt * s[2] * d;
                float[][] tab = Rope.floatTables(t, d, 10000.0, 3);
                MemorySegment x = random(arena, n, n, -2, 2);
                for (boolean inverse : new boolean[] {false, true}) {
                    MemorySegment yVec = random(arena, n, 0, 0, 0);
                    MemorySegment yRef = random(arena, n, 0, 0, 0);
                    RowKernels.ropeScalar(x, yRef, 0, bt, t, s[2], d, tab[0], tab[1], inverse);
                    RowKernels.rope(x, yVec, 0, bt / 2, t, s[2], d, tab[0], tab[1], inverse);
                    RowKernels.rope(x, yVec, bt / 2, bt, t, s[2], d, tab[0], tab[1], inverse);
                    assertBits(yRef, yVec, n, "rope " + java.util.Arrays.toString(s) + (inverse ? " inverse" : ""));
                }
            }
        }
    }

    @Test
    void ropeScalarTwinIsTheRotationFormula() {
        // one pair, angle (startPos + t) * theta^0 = 3 + 1 for position 1: y = R(4) x
        float[][] tab = Rope.floatTables(2, 2, 10000.0, 3);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = random(arena, 4, 1, -1, 1);
            MemorySegment y = random(arena, 4, 0, 0, 0);
            RowKernels.ropeScalar(x, y, 0, 2, 2, 1, 2, tab[0], tab[1], false);
            float c = (float) Math.cos(4);
            float s = (float) Math.sin(4);
            double x0 = x.getAtIndex(ValueLayout.JAVA_FLOAT, 2);
            double x1 = x.getAtIndex(ValueLayout.JAVA_FLOAT, 3);
            assertEquals((float) (x0 * c - x1 * s), y.getAtIndex(ValueLayout.JAVA_FLOAT, 2));
            assertEquals((float) (x0 * s + x1 * c), y.getAtIndex(ValueLayout.JAVA_FLOAT, 3));
        }
    }

    @Test
    void scatterAddRowsMatchesScalarTwinWithRepeatedIndices() {
        try (Arena arena = Arena.ofConfined()) {
            for (int c : new int[] {1, 5, 16, 33, 288}) {
                long[] idx = {3, 0, 3, 7, 3, 1, 0};
                MemorySegment src = random(arena, (long) idx.length * c, c, -1, 1);
                MemorySegment a = random(arena, 8L * c, 9, -1, 1);
                MemorySegment b = copy(arena, a);
                RowKernels.scatterAddRows(src, a, idx, c);
                RowKernels.scatterAddRowsScalar(src, b, idx, c);
                assertBits(b, a, 8L * c, "scatterAddRows c=" + c);
            }
        }
    }

    @Test
    void elementwiseKernelsMatchScalarTwinsOnEveryRange() {
        try (Arena arena = Arena.ofConfined()) {
            long n = 1000;
            MemorySegment a = random(arena, n, 1, -4, 4);
            MemorySegment b = random(arena, n, 2, -4, 4);
            long[][] ranges = {{0, 0}, {0, 1}, {0, 7}, {3, 19}, {64, 1000}, {0, 1000}, {999, 1000}};
            for (long[] r : ranges) {
                MemorySegment v = random(arena, n, 0, 0, 0);
                MemorySegment s = random(arena, n, 0, 0, 0);
                Elementwise.add(a, b, v, r[0], r[1]);
                Elementwise.addScalar(a, b, s, r[0], r[1]);
                assertBits(s, v, n, "add " + r[0] + ".." + r[1]);
                Elementwise.mul(a, b, v, r[0], r[1]);
                Elementwise.mulScalar(a, b, s, r[0], r[1]);
                assertBits(s, v, n, "mul " + r[0] + ".." + r[1]);
            }
        }
    }

    @Test
    void largeRmsNormAndRopeOnTwoCoresMatchScalarTwins() {
        // big enough for the two-core split (RowKernels.PARALLEL_MIN elements)
        long b = 2;
        long t = 40;
        long h = 4;
        long d = 110;
        int c = (int) (h * d);
        int rows = (int) (b * t);
        Nd4j.getRandom().setSeed(42);
        INDArray xv = Nd4j.rand(DataType.FLOAT, b, t, c).subi(0.5);
        INDArray wv = Nd4j.rand(DataType.FLOAT, c).addi(0.5);
        INDArray gv = Nd4j.rand(DataType.FLOAT, b, t, c).subi(0.5);
        assertTrue(xv.length() >= RowKernels.PARALLEL_MIN);
        Tensor x = Tensor.parameter(xv);
        Tensor w = Tensor.parameter(wv);
        F.rmsNorm(x, w, 1e-5).backward(gv);
        try (Arena arena = Arena.ofConfined()) {
            Buf bx = Buf.of(xv);
            Buf bg = Buf.of(gv);
            Buf bw = Buf.of(wv);
            double[] r = new double[rows];
            for (int i = 0; i < rows; i++) {
                long base = (long) i * c;
                r[i] = 1.0 / Math.sqrt(Kernels.dot(bx.segment(), base, bx.segment(), base, c) / c + 1e-5); // as forward
            }
            MemorySegment dx = random(arena, (long) rows * c, 0, 0, 0);
            double[] dw = new double[c];
            RowKernels.rmsNormInputGradScalar(bx.segment(), bg.segment(), bw.segment(), dx, r, c, 0, rows);
            RowKernels.rmsNormWeightGradScalar(bx.segment(), bg.segment(), dw, r, c, 0, rows);
            assertBits(dx, Buf.of(x.grad()).segment(), (long) rows * c, "RmsNorm dx");
            for (int j = 0; j < c; j++) {
                assertEquals((float) dw[j], w.grad().getFloat(j), 0f, "RmsNorm dw " + j);
            }
            Tensor q = Tensor.parameter(xv.reshape('c', b, t, h, d));
            Tensor y = F.rope(q, 5, 10000.0);
            y.backward(gv.reshape('c', b, t, h, d));
            float[][] tab = Rope.floatTables(t, d, 10000.0, 5);
            MemorySegment yRef = random(arena, (long) rows * c, 0, 0, 0);
            RowKernels.ropeScalar(bx.segment(), yRef, 0, rows, (int) t, h, (int) d, tab[0], tab[1], false);
            assertBits(yRef, Buf.of(y.value()).segment(), (long) rows * c, "Rope forward");
            RowKernels.ropeScalar(bg.segment(), yRef, 0, rows, (int) t, h, (int) d, tab[0], tab[1], true);
            assertBits(yRef, Buf.of(q.grad()).segment(), (long) rows * c, "Rope backward");
        }
    }
}
