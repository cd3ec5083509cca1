package org.lowbit4j.autograd.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Random;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.lowbit4j.autograd.blas.GemmTest.Layout;
import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.Bf16Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@link Gemm#gemmBf16} and {@link Gemm#gemmBatchedBf16} on both routes (oneDNN where installed,
 * the widening fallback everywhere) against a triple loop in double: bit-exact on small integers
 * (every product and partial sum is exact in fp32, so any summation order gives the same bits),
 * within an accumulation tolerance on random bf16 values; every transpose and layout, alpha/beta,
 * NaN in C with beta = 0, size 0, shape and type errors.
 */
class Bf16GemmTest {
    static final List<String> ROUTES = List.of("fallback", "onednn", "onednn-gemm");

    @AfterAll
    static void restoreDefault() {
        Gemm.useBf16Backend("auto", 0);
    }

    /** Selects a route; skips the test when oneDNN is asked for but not installed. */
    static void route(String r) {
        String d = Gemm.useBf16Backend(r, 0);
        if (r.startsWith("onednn")) {
            assumeTrue(d.startsWith("oneDNN"), "oneDNN not installed: " + d);
        } else {
            assertTrue(d.startsWith("fallback"), d);
        }
    }

    /** An operand [r, c] of the given type and layout, filled from gen (values pass through bf16 exactly if integer). */
    static INDArray make(DataType t, long r, long c, Layout layout, DoubleSupplier gen) {
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
                double v = gen.getAsDouble();
                if (t == DataType.BFLOAT16) {
                    v = Bf16.decode(Bf16.encode((float) v)); // the stored value, whatever ND4J's putScalar rounds
                }
                x.putScalar(new long[] {i, j}, v);
            }
        }
        return x;
    }

    static DoubleSupplier smallInts(Random rnd) {
        return () -> rnd.nextInt(17) - 8;
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (String route : ROUTES) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    s.add(Arguments.of(route, ta, tb, 37, 29, 53, Layout.C, Layout.C, Layout.C));
                    s.add(Arguments.of(route, ta, tb, 1, 17, 5, Layout.C, Layout.C, Layout.C));
                    s.add(Arguments.of(route, ta, tb, 19, 1, 3, Layout.C, Layout.C, Layout.C));
                }
            }
            for (Layout la : Layout.values()) {
                for (Layout lb : Layout.values()) {
                    s.add(Arguments.of(route, la.ordinal() % 2 == 0, lb.ordinal() % 2 == 1, 9, 11, 6, la, lb, Layout.C));
                    s.add(Arguments.of(route, la.ordinal() % 2 == 1, lb.ordinal() % 2 == 0, 9, 11, 6, la, lb, Layout.C));
                }
                s.add(Arguments.of(route, false, true, 9, 11, 6, Layout.C, Layout.C, la));
                s.add(Arguments.of(route, true, false, 10, 1, 6, Layout.BLOCK, Layout.F, la));
            }
        }
        return s.build();
    }

    /** Integer inputs: the result must equal the exact product bit for bit, on every route and layout. */
    @ParameterizedTest(name = "{0} ta={1} tb={2} m={3} n={4} k={5} a={6} b={7} c={8}")
    @MethodSource("cases")
    void exactOnIntegers(String route, boolean ta, boolean tb, int m, int n, int k, Layout la, Layout lb, Layout lc) {
        route(route);
        Random rnd = new Random(31L * m + 7L * n + k + la.ordinal() * 5L + lb.ordinal() + lc.ordinal() * 13L);
        INDArray a = make(DataType.BFLOAT16, ta ? k : m, ta ? m : k, la, smallInts(rnd));
        INDArray b = make(DataType.BFLOAT16, tb ? n : k, tb ? k : n, lb, smallInts(rnd));
        INDArray c = make(DataType.FLOAT, m, n, lc, smallInts(rnd));
        double[][] c0 = GemmTest.toDouble(c);
        Gemm.gemmBf16(a, ta, b, tb, c, 2f, 1f);
        GemmTest.assertProduct(GemmTest.toDouble(a), ta, GemmTest.toDouble(b), tb, c0, 2, 1, c, 0);
        // beta = 0 ignores C, even NaN
        c.assign(Float.NaN);
        Gemm.gemmBf16(a, ta, b, tb, c, 0.5f, 0f);
        GemmTest.assertProduct(GemmTest.toDouble(a), ta, GemmTest.toDouble(b), tb, c0, 0.5, 0, c, 0);
        // alpha = 1, beta = 0: the products oneDNN's matmul primitive takes (route onednn, A not transposed)
        c.assign(Float.NaN);
        Gemm.gemmBf16(a, ta, b, tb, c, 1f, 0f);
        GemmTest.assertProduct(GemmTest.toDouble(a), ta, GemmTest.toDouble(b), tb, c0, 1, 0, c, 0);
    }

    /**
     * The matmul primitive (route onednn) and the gemm entry point (onednn-gemm) agree within fp32 summation
     * error on random values, for a product the primitive takes and one it leaves to the gemm entry point.
     */
    @Test
    void matmulPrimitiveAgreesWithGemmEntryPoint() {
        assumeTrue(Bf16GemmBackends.oneDnn() != null && Bf16GemmBackends.oneDnn().matmul() != null,
                "oneDNN matmul primitive not available");
        assertTrue(Gemm.useBf16Backend("onednn", 0).contains("matmul primitive"), Gemm.bf16Backend());
        assertFalse(Gemm.useBf16Backend("onednn-gemm", 0).contains("matmul primitive"), Gemm.bf16Backend());
        Random rnd = new Random(23);
        for (boolean ta : new boolean[] {false, true}) {
            int m = 96;
            int n = 80;
            int k = 320;
            INDArray a = make(DataType.BFLOAT16, ta ? k : m, ta ? m : k, Layout.C, rnd::nextGaussian);
            INDArray b = make(DataType.BFLOAT16, n, k, Layout.C, rnd::nextGaussian);
            INDArray viaMatmul = Nd4j.create(DataType.FLOAT, m, n);
            INDArray viaGemm = Nd4j.create(DataType.FLOAT, m, n);
            route("onednn");
            Gemm.gemmBf16(a, ta, b, true, viaMatmul, 1f, 0f);
            route("onednn-gemm");
            Gemm.gemmBf16(a, ta, b, true, viaGemm, 1f, 0f);
            GemmTest.assertProduct(GemmTest.toDouble(a), ta, GemmTest.toDouble(b), true, null, 1, 0, viaMatmul,
                    k * 0x1p-24);
            GemmTest.assertProduct(GemmTest.toDouble(a), ta, GemmTest.toDouble(b), true, null, 1, 0, viaGemm,
                    k * 0x1p-24);
        }
    }

    /** Random bf16 values: within fp32 accumulation error of the exact product (products of bf16 are exact in fp32). */
    @ParameterizedTest
    @ValueSource(strings = {"fallback", "onednn", "onednn-gemm"})
    void randomWithinAccumulationTolerance(String route) {
        route(route);
        Random rnd = new Random(5);
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                int m = 67;
                int n = 45;
                int k = 300;
                INDArray a = make(DataType.BFLOAT16, ta ? k : m, ta ? m : k, Layout.C, rnd::nextGaussian);
                INDArray b = make(DataType.BFLOAT16, tb ? n : k, tb ? k : n, Layout.F, rnd::nextGaussian);
                INDArray c = make(DataType.FLOAT, m, n, Layout.C, rnd::nextGaussian);
                double[][] c0 = GemmTest.toDouble(c);
                Gemm.gemmBf16(a, ta, b, tb, c, 1.5f, -0.5f);
                // k * 2^-24 relative to sum |terms| bounds any fp32 summation order
                GemmTest.assertProduct(GemmTest.toDouble(a), ta, GemmTest.toDouble(b), tb, c0, 1.5, -0.5, c,
                        k * 0x1p-24);
            }
        }
    }

    /** The fallback and oneDNN give the same bits where sums are exact, and toBf16 feeds them. */
    @Test
    void fallbackEqualsOneDnnOnExactInputs() {
        assumeTrue(Bf16GemmBackends.oneDnn() != null, "oneDNN not installed");
        Random rnd = new Random(11);
        INDArray af = Nd4j.create(DataType.FLOAT, 130, 70);
        INDArray bf = Nd4j.create(DataType.FLOAT, 90, 70);
        fillInts(af, rnd);
        fillInts(bf, rnd);
        INDArray a = Bf16Arrays.toBf16(af);
        INDArray b = Bf16Arrays.toBf16(bf);
        INDArray c1 = Nd4j.create(DataType.FLOAT, 130, 90);
        INDArray c2 = Nd4j.create(DataType.FLOAT, 130, 90);
        INDArray c3 = Nd4j.create(DataType.FLOAT, 130, 90);
        route("fallback");
        Gemm.gemmBf16(a, false, b, true, c1, 1f, 0f);
        route("onednn");
        Gemm.gemmBf16(a, false, b, true, c2, 1f, 0f);
        Gemm.gemm(af, false, bf, true, c3, 1.0, 0.0);
        assertEquals(c3, c1);
        assertEquals(c3, c2);
        assertTrue(c2.sumNumber().doubleValue() != 0, "non-trivial product");
    }

    /** dnnl_sgemm through gemmOneDnn: exact on integers like any fp32 GEMM, every transpose. */
    @Test
    void oneDnnSgemmMatchesOnIntegers() {
        assumeTrue(Bf16GemmBackends.oneDnn() != null, "oneDNN not installed");
        Random rnd = new Random(3);
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                INDArray a = make(DataType.FLOAT, ta ? 23 : 31, ta ? 31 : 23, Layout.BLOCK, smallInts(rnd));
                INDArray b = make(DataType.FLOAT, tb ? 17 : 23, tb ? 23 : 17, Layout.TRANSPOSED, smallInts(rnd));
                INDArray c = Nd4j.create(DataType.FLOAT, 31, 17);
                Gemm.gemmOneDnn(a, ta, b, tb, c, 1f, 0f);
                GemmTest.assertProduct(GemmTest.toDouble(a), ta, GemmTest.toDouble(b), tb, null, 1, 0, c, 0);
            }
        }
    }

    static void fillInts(INDArray x, Random rnd) {
        for (long i = 0; i < x.size(0); i++) {
            for (long j = 0; j < x.size(1); j++) {
                x.putScalar(new long[] {i, j}, rnd.nextInt(17) - 8);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"fallback", "onednn", "onednn-gemm"})
    void batchedMatchesPerMatrixLoop(String route) {
        route(route);
        Random rnd = new Random(17);
        int bt = 5;
        int m = 12;
        int n = 9;
        int k = 16;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                // a stored [Bt, K, M] permuted to [Bt, M, K] when not transposed: column-major matrices
                INDArray a = ta ? batch(bt, k, m, rnd) : batch(bt, k, m, rnd).permute(0, 2, 1);
                INDArray b = tb ? batch(bt, n, k, rnd) : batch(bt, k, n, rnd);
                INDArray c = Nd4j.create(DataType.FLOAT, bt, m, n);
                c.assign(Float.NaN);
                Gemm.gemmBatchedBf16(a, ta, b, tb, c, 1f, 0f);
                for (int i = 0; i < bt; i++) {
                    INDArray ai = a.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all());
                    INDArray bi = b.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all());
                    INDArray ci = c.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all());
                    GemmTest.assertProduct(GemmTest.toDouble(ai), ta, GemmTest.toDouble(bi), tb, null, 1, 0, ci, 0);
                }
            }
        }
    }

    /**
     * matmulBf16 over two batch dimensions on permuted views (the attention layout [B, T, H, D] seen as
     * [B, H, T, D]), every transpose: exact on integers on every route.
     */
    @ParameterizedTest
    @ValueSource(strings = {"fallback", "onednn", "onednn-gemm"})
    void matmulOverBatchDimensionsOnPermutedViews(String route) {
        route(route);
        Random rnd = new Random(29);
        int b0 = 2;
        int b1 = 3;
        int m = 7;
        int n = 5;
        int k = 6;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                // stored [B0, rows, B1, cols], used as [B0, B1, rows, cols]
                INDArray a = batch(b0, (ta ? k : m) * b1, ta ? m : k, rnd).reshape(b0, ta ? k : m, b1, ta ? m : k)
                        .permute(0, 2, 1, 3);
                INDArray b = batch(b0, (tb ? n : k) * b1, tb ? k : n, rnd).reshape(b0, tb ? n : k, b1, tb ? k : n)
                        .permute(0, 2, 1, 3);
                INDArray c = Nd4j.create(DataType.FLOAT, b0, m, b1, n).permute(0, 2, 1, 3);
                c.assign(Float.NaN);
                Gemm.matmulBf16(a, ta, b, tb, c);
                for (int i = 0; i < b0; i++) {
                    for (int j = 0; j < b1; j++) {
                        INDArray ai = a.get(NDArrayIndex.point(i), NDArrayIndex.point(j), NDArrayIndex.all(),
                                NDArrayIndex.all());
                        INDArray bi = b.get(NDArrayIndex.point(i), NDArrayIndex.point(j), NDArrayIndex.all(),
                                NDArrayIndex.all());
                        INDArray ci = c.get(NDArrayIndex.point(i), NDArrayIndex.point(j), NDArrayIndex.all(),
                                NDArrayIndex.all());
                        GemmTest.assertProduct(GemmTest.toDouble(ai), ta, GemmTest.toDouble(bi), tb, null, 1, 0, ci, 0);
                    }
                }
            }
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Gemm.matmulBf16(
                Nd4j.create(DataType.BFLOAT16, 2, 3, 4), false, Nd4j.create(DataType.BFLOAT16, 3, 4, 5), false,
                Nd4j.create(DataType.FLOAT, 2, 3, 5)));
        assertTrue(e.getMessage().contains("shapes do not match"), e.getMessage());
    }

    static INDArray batch(int bt, int r, int c, Random rnd) {
        INDArray f = Nd4j.create(DataType.FLOAT, bt, r, c);
        for (long i = 0; i < f.length(); i++) {
            f.putScalar(i, rnd.nextInt(17) - 8);
        }
        return Bf16Arrays.toBf16(f);
    }

    @ParameterizedTest
    @ValueSource(strings = {"fallback", "onednn", "onednn-gemm"})
    void sizeZero(String route) {
        route(route);
        INDArray c = Nd4j.create(DataType.FLOAT, 3, 4).assign(2);
        // K = 0: C = beta C
        Gemm.gemmBf16(Nd4j.create(DataType.BFLOAT16, 3, 0), false, Nd4j.create(DataType.BFLOAT16, 0, 4), false, c,
                1f, 1.5f);
        assertEquals(Nd4j.create(DataType.FLOAT, 3, 4).assign(3), c);
        Gemm.gemmBf16(Nd4j.create(DataType.BFLOAT16, 3, 0), false, Nd4j.create(DataType.BFLOAT16, 0, 4), false, c,
                1f, 0f);
        assertEquals(Nd4j.create(DataType.FLOAT, 3, 4), c);
        // M = 0 and N = 0: nothing to do
        Gemm.gemmBf16(Nd4j.create(DataType.BFLOAT16, 0, 5), false, Nd4j.create(DataType.BFLOAT16, 5, 4), false,
                Nd4j.create(DataType.FLOAT, 0, 4), 1f, 0f);
        Gemm.gemmBf16(Nd4j.create(DataType.BFLOAT16, 3, 5), false, Nd4j.create(DataType.BFLOAT16, 5, 0), false,
                Nd4j.create(DataType.FLOAT, 3, 0), 1f, 0f);
        Gemm.gemmBatchedBf16(Nd4j.create(DataType.BFLOAT16, 0, 3, 5), false, Nd4j.create(DataType.BFLOAT16, 0, 5, 4),
                false, Nd4j.create(DataType.FLOAT, 0, 3, 4), 1f, 0f);
        INDArray c3 = Nd4j.create(DataType.FLOAT, 2, 3, 4).assign(1);
        Gemm.gemmBatchedBf16(Nd4j.create(DataType.BFLOAT16, 2, 3, 0), false, Nd4j.create(DataType.BFLOAT16, 2, 0, 4),
                false, c3, 1f, 0f);
        assertEquals(Nd4j.create(DataType.FLOAT, 2, 3, 4), c3);
    }

    @Test
    void clearErrors() {
        INDArray a = Nd4j.create(DataType.BFLOAT16, 3, 5);
        INDArray b = Nd4j.create(DataType.BFLOAT16, 4, 6);
        INDArray c = Nd4j.create(DataType.FLOAT, 3, 6);
        var e = assertThrows(IllegalArgumentException.class, () -> Gemm.gemmBf16(a, false, b, false, c, 1f, 0f));
        assertTrue(e.getMessage().contains("shapes do not match") && e.getMessage().contains("[3, 5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemmBf16(a, false, Nd4j.create(DataType.BFLOAT16, 5, 6), false,
                        Nd4j.create(DataType.FLOAT, 3, 7), 1f, 0f));
        assertTrue(e.getMessage().contains("c is [3, 7]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemmBf16(Nd4j.create(DataType.FLOAT, 3, 5), false, Nd4j.create(DataType.BFLOAT16, 5, 6),
                        false, c, 1f, 0f));
        assertTrue(e.getMessage().contains("BFLOAT16") && e.getMessage().contains("a FLOAT"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemmBf16(a, false, Nd4j.create(DataType.BFLOAT16, 5, 6), false,
                        Nd4j.create(DataType.BFLOAT16, 3, 6), 1f, 0f));
        assertTrue(e.getMessage().contains("c BFLOAT16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemmBf16(Nd4j.create(DataType.BFLOAT16, 2, 3, 5), false, b, false, c, 1f, 0f));
        assertTrue(e.getMessage().contains("2-D"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemmBatchedBf16(Nd4j.create(DataType.BFLOAT16, 2, 3, 5), false,
                        Nd4j.create(DataType.BFLOAT16, 3, 5, 4), false, Nd4j.create(DataType.FLOAT, 2, 3, 4), 1f, 0f));
        assertTrue(e.getMessage().contains("batch sizes differ"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Gemm.useBf16Backend("fallback", -1));
    }

    @Test
    void backendIsDescribedAndAutoPicksOneDnnOnlyWithNativeBf16() {
        String d = Gemm.useBf16Backend("auto", 0);
        assertFalse(d.isBlank());
        boolean expectOneDnn = Bf16GemmBackends.oneDnn() != null && Bf16GemmBackends.cpuHasBf16();
        assertEquals(expectOneDnn, d.startsWith("oneDNN"), d);
        assertEquals(d, Gemm.bf16Backend());
        assertEquals(expectOneDnn, Gemm.bf16Accelerated());
        assertTrue(Gemm.useBf16Backend("fallback", 0).startsWith("fallback"));
        assertFalse(Gemm.bf16Accelerated());
        if (Bf16GemmBackends.oneDnn() != null) {
            assertTrue(Gemm.useBf16Backend("onednn", 1).contains("1 OpenMP thread)"), Gemm.bf16Backend());
        }
    }

    /** The OpenMP thread count of the calling thread is restored after each oneDNN call. */
    @Test
    void openMpThreadCountIsRestored() {
        OneDnnLibrary lib = Bf16GemmBackends.oneDnn();
        assumeTrue(lib != null && lib.openMp() != null, "oneDNN or libgomp not available");
        int before = lib.openMp().maxThreads();
        Gemm.useBf16Backend("onednn", before + 1);
        INDArray a = batch(1, 8, 8, new Random(1)).reshape(8, 8);
        Gemm.gemmBf16(a, false, a, true, Nd4j.create(DataType.FLOAT, 8, 8), 1f, 0f);
        assertEquals(before, lib.openMp().maxThreads());
    }
}
