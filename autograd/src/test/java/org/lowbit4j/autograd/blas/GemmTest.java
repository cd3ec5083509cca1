package org.lowbit4j.autograd.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Every backend against a plain triple loop in double: transposes, odd sizes, views with offsets,
 * F order, strided operands (copy path), alpha/beta, aliasing, FLOAT and DOUBLE, batches.
 */
class GemmTest {
    /** Backends forced in turn; "system" degrades to bundled where no system CBLAS is installed. */
    static final List<String> BACKENDS = List.of("nd4j", "bundled", "system");

    @AfterAll
    static void restoreDefault() {
        Gemm.use(null);
    }

    /** How an operand of logical shape [r, c] is laid out in memory. */
    enum Layout {
        /** dense C order */
        C,
        /** dense F order */
        F,
        /** an interior block of a larger C array: offset and leading dimension > cols */
        BLOCK,
        /** the transpose view of a C array [c, r] */
        TRANSPOSED,
        /** every other column of a wider array: no unit stride, forces a copy */
        STRIDED
    }

    static INDArray make(DataType t, long r, long c, Layout layout, Random rnd) {
        INDArray x = switch (layout) {
            case C -> Nd4j.create(t, new long[] {r, c}, 'c');
            case F -> Nd4j.create(t, new long[] {r, c}, 'f');
            case BLOCK -> Nd4j.create(t, new long[] {r + 3, c + 5}, 'c')
                    .get(NDArrayIndex.interval(2, 2 + r), NDArrayIndex.interval(1, 1 + c));
            case TRANSPOSED -> Nd4j.create(t, new long[] {c, r}, 'c').transpose();
            case STRIDED -> Nd4j.create(t, new long[] {r, 2 * c}, 'c')
                    .get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2, 2 * c));
        };
        for (long i = 0; i < r; i++) {
            for (long j = 0; j < c; j++) {
                x.putScalar(new long[] {i, j}, rnd.nextGaussian());
            }
        }
        return x;
    }

    static double[][] toDouble(INDArray x) {
        double[][] d = new double[(int) x.size(0)][(int) x.size(1)];
        for (int i = 0; i < d.length; i++) {
            for (int j = 0; j < d[0].length; j++) {
                d[i][j] = x.getDouble(i, j);
            }
        }
        return d;
    }

    /** Checks c == alpha op(a) op(b) + beta c0 elementwise, tolerance scaled by sum |terms|. */
    static void assertProduct(double[][] a, boolean ta, double[][] b, boolean tb, double[][] c0, double alpha,
            double beta, INDArray c, double relTol) {
        int m = ta ? a[0].length : a.length;
        int k = ta ? a.length : a[0].length;
        int n = tb ? b.length : b[0].length;
        assertEquals(m, c.size(0));
        assertEquals(n, c.size(1));
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                double mag = 0;
                for (int p = 0; p < k; p++) {
                    double x = (ta ? a[p][i] : a[i][p]) * (tb ? b[j][p] : b[p][j]);
                    s += x;
                    mag += Math.abs(x);
                }
                double old = beta == 0 ? 0 : beta * c0[i][j];
                double expect = alpha * s + old;
                double scale = Math.abs(alpha) * mag + Math.abs(old) + 1e-30;
                double got = c.getDouble(i, j);
                if (!(Math.abs(got - expect) <= relTol * scale)) {
                    fail("c[" + i + "," + j + "] = " + got + ", expected " + expect + " (m=" + m + " n=" + n + " k=" + k
                            + " ta=" + ta + " tb=" + tb + ")");
                }
            }
        }
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (String be : BACKENDS) {
            for (DataType t : List.of(DataType.FLOAT, DataType.DOUBLE)) {
                for (boolean ta : new boolean[] {false, true}) {
                    for (boolean tb : new boolean[] {false, true}) {
                        s.add(Arguments.of(be, t, ta, tb, 13, 7, 33, Layout.C, Layout.C, Layout.C));
                    }
                }
                // odd and degenerate sizes
                s.add(Arguments.of(be, t, false, true, 1, 1, 1, Layout.C, Layout.C, Layout.C));
                s.add(Arguments.of(be, t, true, false, 1, 17, 5, Layout.C, Layout.C, Layout.C));
                s.add(Arguments.of(be, t, false, false, 19, 1, 3, Layout.C, Layout.C, Layout.C));
                s.add(Arguments.of(be, t, false, true, 65, 70, 129, Layout.C, Layout.C, Layout.C));
                // every layout for every operand, both transposes
                for (Layout la : Layout.values()) {
                    for (Layout lb : Layout.values()) {
                        s.add(Arguments.of(be, t, la.ordinal() % 2 == 0, lb.ordinal() % 2 == 1, 9, 11, 6, la, lb, Layout.C));
                    }
                    s.add(Arguments.of(be, t, false, true, 9, 11, 6, Layout.C, Layout.C, la));
                    s.add(Arguments.of(be, t, true, false, 10, 1, 6, Layout.BLOCK, Layout.F, la));
                }
            }
        }
        return s.build();
    }

    @ParameterizedTest(name = "{0} {1} ta={2} tb={3} m={4} n={5} k={6} a={7} b={8} c={9}")
    @MethodSource("cases")
    void matchesTripleLoop(String backend, DataType t, boolean ta, boolean tb, int m, int n, int k, Layout la,
            Layout lb, Layout lc) {
        Gemm.use(backend);
        Random rnd = new Random(31L * m + 7L * n + k + la.ordinal() * 5L + lb.ordinal() * 3L + lc.ordinal());
        INDArray a = ta ? make(t, k, m, la, rnd) : make(t, m, k, la, rnd);
        INDArray b = tb ? make(t, n, k, lb, rnd) : make(t, k, n, lb, rnd);
        INDArray c = make(t, m, n, lc, rnd);
        double[][] a0 = toDouble(a);
        double[][] b0 = toDouble(b);
        double[][] c0 = toDouble(c);
        double alpha = 0.75;
        double beta = -1.5;
        Gemm.gemm(a, ta, b, tb, c, alpha, beta);
        assertProduct(a0, ta, b0, tb, c0, alpha, beta, c, t == DataType.FLOAT ? 1e-5 : 1e-13);
        INDArray fresh = Gemm.mmul(a, ta, b, tb);
        assertEquals('c', fresh.ordering());
        assertProduct(a0, ta, b0, tb, null, 1.0, 0.0, fresh, t == DataType.FLOAT ? 1e-5 : 1e-13);
        // inputs untouched
        assertProduct(a0, ta, b0, tb, c0, 0, 0, Nd4j.zeros(t, m, n), 0);
        assertEquals(a0[0][0], a.getDouble(0, 0));
        assertEquals(b0[b0.length - 1][b0[0].length - 1], b.getDouble(b0.length - 1, b0[0].length - 1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"nd4j", "bundled", "system"})
    void surroundingMemoryOfAViewIsUntouched(String backend) {
        Gemm.use(backend);
        INDArray big = Nd4j.valueArrayOf(new long[] {8, 9}, 42.0f);
        INDArray c = big.get(NDArrayIndex.interval(2, 6), NDArrayIndex.interval(3, 8)); // [4, 5], ld 9
        Random rnd = new Random(5);
        INDArray a = make(DataType.FLOAT, 4, 3, Layout.C, rnd);
        INDArray b = make(DataType.FLOAT, 3, 5, Layout.C, rnd);
        Gemm.gemm(a, false, b, false, c, 1, 0);
        assertProduct(toDouble(a), false, toDouble(b), false, null, 1, 0, c, 1e-5);
        for (int i = 0; i < 8; i++) {
            for (int j = 0; j < 9; j++) {
                boolean inside = i >= 2 && i < 6 && j >= 3 && j < 8;
                if (!inside) {
                    assertEquals(42.0f, big.getFloat(i, j), "outside element [" + i + "," + j + "]");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"nd4j", "bundled", "system"})
    void betaZeroIgnoresNaNInOutput(String backend) {
        Gemm.use(backend);
        Random rnd = new Random(2);
        INDArray a = make(DataType.FLOAT, 5, 4, Layout.C, rnd);
        INDArray b = make(DataType.FLOAT, 4, 6, Layout.C, rnd);
        INDArray c = Nd4j.valueArrayOf(new long[] {5, 6}, Float.NaN);
        Gemm.gemm(a, false, b, false, c, 2.0, 0.0);
        assertProduct(toDouble(a), false, toDouble(b), false, null, 2.0, 0, c, 1e-5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"nd4j", "bundled", "system"})
    void outputAliasingAnInputGoesThroughATemporary(String backend) {
        Gemm.use(backend);
        Random rnd = new Random(3);
        INDArray a = make(DataType.DOUBLE, 6, 6, Layout.C, rnd);
        INDArray b = make(DataType.DOUBLE, 6, 6, Layout.C, rnd);
        double[][] a0 = toDouble(a);
        Gemm.gemm(a, false, b, false, a, 1.0, 1.0); // a = a b + a
        assertProduct(a0, false, toDouble(b), false, a0, 1.0, 1.0, a, 1e-13);
    }

    @ParameterizedTest
    @ValueSource(strings = {"nd4j", "bundled", "system"})
    void emptyInnerDimensionScalesC(String backend) {
        Gemm.use(backend);
        INDArray a = Nd4j.create(DataType.FLOAT, 3, 0);
        INDArray b = Nd4j.create(DataType.FLOAT, 0, 2);
        INDArray c = Nd4j.valueArrayOf(new long[] {3, 2}, 4.0f);
        Gemm.gemm(a, false, b, false, c, 1.0, 0.5);
        assertEquals(2.0f, c.getFloat(2, 1));
        assertEquals(0, Gemm.mmul(Nd4j.create(DataType.FLOAT, 0, 4), false, Nd4j.create(DataType.FLOAT, 4, 3), false).length());
    }

    static Stream<Arguments> batchedCases() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (String be : BACKENDS) {
            for (DataType t : List.of(DataType.FLOAT, DataType.DOUBLE)) {
                for (boolean ta : new boolean[] {false, true}) {
                    for (boolean tb : new boolean[] {false, true}) {
                        s.add(Arguments.of(be, t, ta, tb, false));
                    }
                }
                s.add(Arguments.of(be, t, false, true, true));
                s.add(Arguments.of(be, t, true, false, true));
            }
        }
        return s.build();
    }

    /** Batched products, as attention uses them; with permuted (non-C) views when permuted is set. */
    @ParameterizedTest(name = "{0} {1} ta={2} tb={3} permuted={4}")
    @MethodSource("batchedCases")
    void batchedMatchesPerMatrix(String backend, DataType t, boolean ta, boolean tb, boolean permuted) {
        Gemm.use(backend);
        int bt = 4;
        int m = 7;
        int n = 5;
        int k = 9;
        Random rnd = new Random(11);
        BiFunction<long[], int[], INDArray> gen = (shape, perm) -> {
            INDArray x = Nd4j.create(t, shape, 'c');
            for (long i = 0; i < x.length(); i++) {
                x.putScalar(i, rnd.nextGaussian());
            }
            return perm == null ? x : x.permute(perm[0], perm[1], perm[2]);
        };
        // permuted: stored as [rows, Bt, cols] (like [T, H, Dh] heads) and viewed as [Bt, rows, cols]
        int[] p = permuted ? new int[] {1, 0, 2} : null;
        INDArray a = permuted ? gen.apply(ta ? new long[] {k, bt, m} : new long[] {m, bt, k}, p)
                : gen.apply(ta ? new long[] {bt, k, m} : new long[] {bt, m, k}, null);
        INDArray b = permuted ? gen.apply(tb ? new long[] {n, bt, k} : new long[] {k, bt, n}, p)
                : gen.apply(tb ? new long[] {bt, n, k} : new long[] {bt, k, n}, null);
        INDArray c = permuted ? gen.apply(new long[] {m, bt, n}, p) : gen.apply(new long[] {bt, m, n}, null);
        INDArray c0 = c.dup();
        Gemm.gemmBatched(a, ta, b, tb, c, 1.25, 0.5);
        for (int i = 0; i < bt; i++) {
            INDArray ci = c.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all());
            assertProduct(toDouble(a.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all())), ta,
                    toDouble(b.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all())), tb,
                    toDouble(c0.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all())), 1.25, 0.5, ci,
                    t == DataType.FLOAT ? 1e-5 : 1e-13);
        }
        INDArray fresh = Gemm.mmulBatched(a, ta, b, tb);
        assertEquals('c', fresh.ordering());
        assertProduct(toDouble(a.get(NDArrayIndex.point(3), NDArrayIndex.all(), NDArrayIndex.all())), ta,
                toDouble(b.get(NDArrayIndex.point(3), NDArrayIndex.all(), NDArrayIndex.all())), tb, null, 1, 0,
                fresh.get(NDArrayIndex.point(3), NDArrayIndex.all(), NDArrayIndex.all()), t == DataType.FLOAT ? 1e-5 : 1e-13);
    }

    @Test
    void rejectsBadShapesAndTypesWithClearMessages() {
        INDArray a = Nd4j.create(DataType.FLOAT, 3, 4);
        var e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(a, false, Nd4j.create(DataType.FLOAT, 5, 2), false, Nd4j.create(DataType.FLOAT, 3, 2), 1, 0));
        assertTrue(e.getMessage().contains("[3, 4]") && e.getMessage().contains("[5, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(a, false, Nd4j.create(DataType.DOUBLE, 4, 2), false, Nd4j.create(DataType.FLOAT, 3, 2), 1, 0));
        assertTrue(e.getMessage().contains("DOUBLE"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(Nd4j.create(DataType.FLOAT, 2, 3, 4), false, a, false, a, 1, 0));
        assertTrue(e.getMessage().contains("2-D"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gemm.gemmBatched(Nd4j.create(DataType.FLOAT, 2, 3, 4),
                false, Nd4j.create(DataType.FLOAT, 3, 4, 5), false, Nd4j.create(DataType.FLOAT, 2, 3, 5), 1, 0));
        assertTrue(e.getMessage().contains("batch"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gemm.gemm(Nd4j.create(DataType.INT, 2, 2), false,
                Nd4j.create(DataType.INT, 2, 2), false, Nd4j.create(DataType.INT, 2, 2), 1, 0));
        assertTrue(e.getMessage().contains("floating"), e.getMessage());
    }

    @Test
    void backendSelection() {
        assertInstanceOf(Nd4jBlas.class, BlasBackends.resolve("nd4j"));
        BlasBackend bundled = BlasBackends.resolve("bundled");
        assertInstanceOf(CblasLibrary.class, bundled, "ND4J's own OpenBLAS must be found on linux-x86_64");
        assertEquals("bundled", bundled.kind());
        BlasBackend sys = BlasBackends.resolve("system");
        assertEquals("bundled", BlasBackends.resolve("auto").kind(), "auto prefers ND4J's own OpenBLAS");
        if (BlasBackends.system() != null) {
            assertEquals("system", sys.kind());
        } else {
            assertFalse(sys.kind().equals("system"), "no system CBLAS installed, so it must fall back");
        }
        // a missing path degrades to the auto chain instead of failing
        assertInstanceOf(BlasBackend.class, BlasBackends.resolve("/nonexistent/libcblas.so"));
        assertFalse(BlasBackends.resolve("/nonexistent/libcblas.so").kind().equals("path"));
        assertTrue(bundled.describe().contains("OpenBLAS"), bundled.describe());
    }

    @Test
    void nativeAddressOfViewsPointsAtTheFirstElement() {
        INDArray x = Nd4j.arange(4 * 6 * 7).castTo(DataType.FLOAT).reshape('c', 4, 6, 7);
        List<INDArray> views = List.of(x, x.slice(2), x.get(NDArrayIndex.all(), NDArrayIndex.point(3), NDArrayIndex.all()),
                x.get(NDArrayIndex.interval(1, 3), NDArrayIndex.interval(2, 5), NDArrayIndex.interval(1, 4)),
                x.slice(1).get(NDArrayIndex.interval(1, 4), NDArrayIndex.all()).transpose());
        for (INDArray v : views) {
            float first = v.getFloat(new long[v.rank()]);
            var seg = NativeArrays.segment(v);
            assertEquals(first, seg.get(ValueLayout.JAVA_FLOAT, 0), "first element of a view of shape "
                    + java.util.Arrays.toString(v.shape()) + " offset " + v.offset());
            long[] lastIdx = new long[v.rank()];
            for (int d = 0; d < v.rank(); d++) {
                lastIdx[d] = v.size(d) - 1;
            }
            assertEquals(v.getFloat(lastIdx), seg.get(ValueLayout.JAVA_FLOAT, seg.byteSize() - 4), "last element");
        }
    }
}
