package org.lowbit4j.autograd.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@link CoreSplit}'s fixed rule and band arithmetic, and the property that makes it safe: a product
 * cut into bands of C gives the same bits as one library call (single- or multi-threaded), for every
 * transpose, odd sizes, FLOAT and DOUBLE, on each OpenBLAS this machine has.
 */
class CoreSplitTest {
    @AfterAll
    static void restoreDefault() {
        Gemm.use(null);
        Gemm.useSgemmBackend(System.getProperty(SgemmBackends.PROPERTY));
        Gemm.useCoreSplit(!"false".equalsIgnoreCase(System.getProperty(Gemm.SPLIT_PROPERTY, "true").strip()));
    }

    @Test
    void ruleSplitsTheLongerSideOfLargeEnoughProductsIntoAlignedBands() {
        assertEquals(CoreSplit.NONE, CoreSplit.choose(2048, 288, 288, 1), "one core: one call");
        assertEquals(CoreSplit.NONE, CoreSplit.choose(256, 256, 48, 2), "3.1M multiply-adds: one call");
        assertEquals(new CoreSplit(2, false), CoreSplit.choose(100, 8000, 8000, 2), "a wide C is cut by columns");
        assertEquals(new CoreSplit(2, true), CoreSplit.choose(2048, 288, 288, 2));
        assertEquals(new CoreSplit(2, false), CoreSplit.choose(288, 768, 2048, 2));
        assertEquals(new CoreSplit(2, true), CoreSplit.choose(512, 512, 512, 2), "rows on a tie");
        assertEquals(new CoreSplit(4, true), CoreSplit.choose(2048, 2048, 2048, 4));
        assertEquals(new CoreSplit(3, true), CoreSplit.choose(200, 150, 100000, 64),
                "never more bands than MIN_BAND-wide strips of the side");
        assertEquals(new CoreSplit(2, false), CoreSplit.choose(100, 150, 100000, 8), "150 columns: two bands");
        assertEquals(CoreSplit.NONE, CoreSplit.choose(100, 100, 100000, 8), "no side of two MIN_BAND-wide bands");
        CoreSplit half = CoreSplit.choose(288, 288, 2048, 2);
        assertEquals(144, half.start(288, 1), "a side of 288 splits evenly (144 is a multiple of ALIGN)");

        for (int side : new int[] {128, 129, 288, 300, 511, 768, 2048, 32000}) {
            for (int parts = 2; parts <= Math.min(8, side / CoreSplit.ALIGN); parts++) {
                CoreSplit s = new CoreSplit(parts, true);
                assertEquals(0, s.start(side, 0));
                assertEquals(side, s.start(side, parts));
                for (int i = 1; i < parts; i++) {
                    int at = s.start(side, i);
                    assertEquals(0, at % CoreSplit.ALIGN, "edge " + i + " of " + side + " in " + parts);
                    assertTrue(at > s.start(side, i - 1) && at < side, "bands are non-empty: " + side + "/" + parts);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new CoreSplit(0, true));
    }

    @Test
    void bandsAreTheRightSubProducts() {
        GemmCall call = new GemmCall(false, false, true, 300, 200, 70, 1.0, 1000, 70, 900_000, 70, 0.0, 5_000_000,
                210);
        GemmCall rows = call.rows(64, 300);
        assertEquals(List.of(236, 200, 70), List.of(rows.m(), rows.n(), rows.k()));
        assertEquals(1000 + 64L * 70 * 4, rows.a(), "row 64 of A [M, K]");
        assertEquals(900_000, rows.b());
        assertEquals(5_000_000 + 64L * 210 * 4, rows.c());
        GemmCall cols = call.columns(128, 200);
        assertEquals(1000, cols.a());
        assertEquals(900_000 + 128L * 70 * 4, cols.b(), "row 128 of B stored [N, K]");
        assertEquals(5_000_000 + 128L * 4, cols.c());
        GemmCall t = new GemmCall(true, true, false, 300, 200, 70, 1.0, 1000, 300, 900_000, 200, 0.0, 0, 200);
        assertEquals(1000 + 64L * 8, t.rows(64, 128).a(), "column 64 of A stored [K, M]");
        assertEquals(900_000 + 64L * 8, t.columns(64, 128).b(), "column 64 of B [K, N]");
        assertThrows(IllegalArgumentException.class, () -> call.rows(10, 10));
        assertThrows(IllegalArgumentException.class, () -> call.columns(0, 201));
    }

    /** {M, N, K}: model shapes, odd sizes, tall and wide products, thin Cs, matrix-vector products. */
    static final int[][] SIZES = {{640, 288, 288}, {300, 200, 70}, {131, 517, 129}, {288, 400, 1024},
        {1000, 97, 333}, {128, 40, 900}, {1, 4096, 1100}, {4000, 1, 1100}};

    /**
     * Each library of this machine: bands one after another (2 or 3, by rows or by columns) equal one
     * single-threaded call, and so does one call on OpenBLAS's own threads, bit for bit.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bundled", "system", "onednn"})
    void bandsGiveTheSameBitsAsOneCall(String kind) {
        if (kind.equals("onednn")) {
            OneDnnLibrary dnn = SgemmBackends.resolve("onednn");
            if (dnn == null) {
                return; // oneDNN is not installed here: the CBLAS rows cover this machine
            }
            Nd4j.getRandom().setSeed(7);
            for (int[] s : SIZES) {
                for (int t = 0; t < 4; t++) { // Gemm runs oneDNN at one thread per call only: no multi-thread check
                    checkBits(DataType.FLOAT, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, c -> c.run(dnn), null);
                }
            }
            return;
        }
        CblasLibrary lib = kind.equals("bundled") ? BlasBackends.bundled() : BlasBackends.system();
        if (kind.equals("bundled")) {
            assertNotNull(lib, "ND4J's own OpenBLAS must be found on linux-x86_64");
        } else if (lib == null) {
            return; // no system OpenBLAS on this machine: nothing to compare
        }
        int before = lib.threads();
        int many = Math.max(2, before);
        try {
            Nd4j.getRandom().setSeed(7);
            for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
                for (int[] s : SIZES) {
                    for (int t = 0; t < 4; t++) {
                        checkBits(type, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, c -> {
                            lib.threads(1);
                            c.run(lib);
                        }, c -> {
                            lib.threads(many);
                            c.run(lib);
                        });
                    }
                }
            }
        } finally {
            lib.threads(before);
        }
    }

    private static void checkBits(DataType type, int m, int n, int k, boolean ta, boolean tb,
            java.util.function.Consumer<GemmCall> single, java.util.function.Consumer<GemmCall> multi) {
        INDArray a = Nd4j.rand(type, ta ? k : m, ta ? m : k).subi(0.5);
        INDArray b = Nd4j.rand(type, tb ? n : k, tb ? k : n).subi(0.5);
        INDArray one = Nd4j.create(type, m, n);
        INDArray own = Nd4j.create(type, m, n);
        INDArray split = Nd4j.create(type, m, n);
        GemmCall call = new GemmCall(type == DataType.DOUBLE, ta, tb, m, n, k, 1.0, NativeArrays.address(a),
                (int) a.size(1), NativeArrays.address(b), (int) b.size(1), 0.0, NativeArrays.address(one), n);
        single.accept(call);
        String what = type + " " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb;
        if (multi != null) {
            multi.accept(withC(call, own));
            assertEquals(one, own, what + ": the library's own threads give the same bits as one thread");
        }
        for (boolean byRows : new boolean[] {true, false}) {
            int side = byRows ? m : n;
            for (int parts = 2; parts <= Math.min(3, side / CoreSplit.MIN_BAND); parts++) {
                CoreSplit cs = new CoreSplit(parts, byRows);
                split.assign(Float.NaN);
                for (int i = 0; i < parts; i++) {
                    single.accept(cs.band(withC(call, split), i));
                }
                assertEquals(one, split, what + " " + parts + (byRows ? " row" : " column") + " bands: same bits");
            }
        }
    }

    private static GemmCall withC(GemmCall call, INDArray c) {
        return new GemmCall(call.isDouble(), call.transA(), call.transB(), call.m(), call.n(), call.k(),
                call.alpha(), call.a(), call.lda(), call.b(), call.ldb(), call.beta(), NativeArrays.address(c),
                call.ldc());
    }

    /**
     * Through the facade, on each CBLAS library and on the oneDNN route: views, F-ordered C (the transposed
     * call), alpha and beta; split (2 threads) and unsplit (1 thread) give the same bits; threads restored.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bundled blas", "system blas", "bundled onednn"})
    void gemmSplitsWithTheSameBitsAsOneThread(String setting) {
        String kind = setting.split(" ")[0];
        String route = setting.split(" ")[1];
        BlasBackend be = Gemm.use(kind);
        String described = Gemm.useSgemmBackend(route);
        if (!(be instanceof CblasLibrary lib) || !lib.kind().equals(kind)
                || (route.equals("onednn") && !described.startsWith("oneDNN"))) {
            return; // this library is not installed here
        }
        int before = lib.threads();
        try {
            Nd4j.getRandom().setSeed(11);
            INDArray a = Nd4j.rand(DataType.FLOAT, 700, 300).subi(0.5);
            INDArray bBig = Nd4j.rand(DataType.FLOAT, 290, 260).subi(0.5);
            // [100, 255], a transposed view of a block
            INDArray b = bBig.get(NDArrayIndex.interval(3, 258), NDArrayIndex.interval(1, 101)).transpose();
            INDArray x = a.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 100)); // [700, 100], ld 300
            for (char order : new char[] {'c', 'f'}) {
                INDArray c0 = Nd4j.rand(DataType.FLOAT, order, 700, 255);
                INDArray serial = c0.dup(order);
                INDArray parallel = c0.dup(order);
                lib.threads(1);
                String single = Gemm.plan(700, 255, 100, false, false, DataType.FLOAT);
                assertTrue(single.contains("one call"), single);
                Gemm.gemm(x, false, b, false, serial, 0.5, -2.0);
                lib.threads(Math.max(2, before));
                String plan = Gemm.plan(700, 255, 100, false, false, DataType.FLOAT);
                assertTrue(plan.startsWith(route.equals("onednn") ? "oneDNN" : "CBLAS") && plan.contains("row bands"),
                        plan);
                Gemm.gemm(x, false, b, false, parallel, 0.5, -2.0);
                assertEquals(serial, parallel, "order " + order);
                assertEquals(Math.max(2, before), lib.threads(), "the library's thread count is restored");
                assertNotEquals(c0, parallel);
            }
        } finally {
            lib.threads(before);
        }
    }

    /**
     * The route's rule: large fp32 products on oneDNN (its bits), small ones and doubles on the CBLAS library
     * (its bits); every operand layout through the oneDNN route is the right product.
     */
    @Test
    void largeFp32ProductsGoToOneDnnWhereInstalled() {
        Gemm.use("bundled");
        if (!Gemm.useSgemmBackend("auto").startsWith("oneDNN")) {
            assertEquals("the CBLAS backend", Gemm.useSgemmBackend("onednn"), "without oneDNN: CBLAS, no failure");
            return;
        }
        CblasLibrary lib = (CblasLibrary) Gemm.backend();
        OneDnnLibrary dnn = SgemmBackends.resolve("onednn");
        Nd4j.getRandom().setSeed(13);
        // {M, N, K, transA}: 4.2M multiply-adds: oneDNN; 2.1M: CBLAS; transposed A, C 8x taller than wide: CBLAS
        for (int[] s : new int[][] {{512, 128, 64, 0}, {256, 128, 64, 0}, {512, 128, 64, 1}, {1024, 128, 64, 1}}) {
            boolean ta = s[3] == 1;
            boolean large = (long) s[0] * s[1] * s[2] >= SgemmBackends.MIN_MULTIPLY_ADDS;
            boolean tall = ta && s[0] >= SgemmBackends.TALL_TRANSPOSED_RATIO * s[1];
            for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
                INDArray a = ta ? Nd4j.rand(type, s[2], s[0]).subi(0.5) : Nd4j.rand(type, s[0], s[2]).subi(0.5);
                INDArray b = Nd4j.rand(type, s[2], s[1]).subi(0.5);
                INDArray viaGemm = Nd4j.create(type, s[0], s[1]);
                Gemm.gemm(a, ta, b, false, viaGemm, 1.0, 0.0);
                INDArray direct = Nd4j.create(type, s[0], s[1]);
                GemmCall call = new GemmCall(type == DataType.DOUBLE, ta, false, s[0], s[1], s[2], 1.0,
                        NativeArrays.address(a), (int) a.size(1), NativeArrays.address(b), s[1], 0.0,
                        NativeArrays.address(direct), s[1]);
                boolean onOneDnn = large && !tall && type == DataType.FLOAT;
                if (onOneDnn) {
                    call.run(dnn);
                } else {
                    int before = lib.threads();
                    lib.threads(1);
                    call.run(lib);
                    lib.threads(before);
                }
                assertEquals(direct, viaGemm, type + " " + java.util.Arrays.toString(s) + " on "
                        + (onOneDnn ? "oneDNN" : "CBLAS"));
                String plan = Gemm.plan(s[0], s[1], s[2], ta, false, type);
                assertTrue(plan.startsWith(onOneDnn ? "oneDNN" : "CBLAS"), plan);
            }
        }
        // every layout of every operand, both transposes, alpha and beta, on the oneDNN route
        java.util.Random rnd = new java.util.Random(17);
        int m = 260;
        int n = 130;
        int k = 140; // 4.7M multiply-adds
        for (GemmTest.Layout l : GemmTest.Layout.values()) {
            for (int which = 0; which < 2; which++) { // l for A and B (C dense), then l for C (A, B dense)
                GemmTest.Layout lab = which == 0 ? l : GemmTest.Layout.C;
                GemmTest.Layout lc = which == 0 ? GemmTest.Layout.C : l;
                boolean ta = (l.ordinal() + which) % 2 == 0;
                boolean tb = l.ordinal() % 2 == 1;
                INDArray a = ta ? GemmTest.make(DataType.FLOAT, k, m, lab, rnd)
                        : GemmTest.make(DataType.FLOAT, m, k, lab, rnd);
                INDArray b = tb ? GemmTest.make(DataType.FLOAT, n, k, lab, rnd)
                        : GemmTest.make(DataType.FLOAT, k, n, lab, rnd);
                INDArray c = GemmTest.make(DataType.FLOAT, m, n, lc, rnd);
                double[][] c0 = GemmTest.toDouble(c);
                Gemm.gemm(a, ta, b, tb, c, 0.75, -1.5);
                GemmTest.assertProduct(GemmTest.toDouble(a), ta, GemmTest.toDouble(b), tb, c0, 0.75, -1.5, c, 1e-5);
            }
        }
    }

    /** A batch, of one or of several large products, gives each entry the same bits as gemm on it. */
    @Test
    void batchedLargeProductsMatchGemmBitForBit() {
        Gemm.use("bundled");
        Nd4j.getRandom().setSeed(19);
        for (int bt : new int[] {1, 3}) {
            INDArray a = Nd4j.rand(DataType.FLOAT, bt, 320, 96).subi(0.5); // 320 x 160 x 96: 4.9M multiply-adds
            INDArray b = Nd4j.rand(DataType.FLOAT, bt, 160, 96).subi(0.5);
            INDArray batched = Gemm.mmulBatched(a, false, b, true);
            for (int i = 0; i < bt; i++) {
                INDArray one = Gemm.mmul(a.slice(i), false, b.slice(i), true);
                assertEquals(one, batched.slice(i), "batch of " + bt + ", entry " + i);
            }
        }
    }

    /** A body of a parallel region whose product would be split runs it on its own thread: no deadlock. */
    @Test
    void productsInsideAParallelRegionDoNotSplitAgain() {
        Gemm.use("bundled");
        INDArray a = Nd4j.rand(DataType.FLOAT, 4, 256, 128); // 8.4M multiply-adds each: split outside a region
        INDArray b = Nd4j.rand(DataType.FLOAT, 4, 128, 256);
        INDArray c = Nd4j.create(DataType.FLOAT, 4, 256, 256);
        INDArray expected = Nd4j.create(DataType.FLOAT, 4, 256, 256);
        for (int i = 0; i < 4; i++) {
            Gemm.gemm(a.slice(i), false, b.slice(i), false, expected.slice(i), 1.0, 0.0);
        }
        if (Runtime.getRuntime().availableProcessors() >= 2 && ((CblasLibrary) Gemm.backend()).threads() >= 2) {
            String plan = Gemm.plan(256, 256, 128, false, false, DataType.FLOAT);
            assertTrue(plan.contains("bands"), plan);
        }
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> Gemm.forEachParallel(4, i -> {
            Gemm.gemm(a.slice(i), false, b.slice(i), false, c.slice(i), 1.0, 0.0);
            Gemm.forEachParallel(2, j -> { }); // nested regions run inline
        }));
        assertEquals(expected, c);
    }
}
