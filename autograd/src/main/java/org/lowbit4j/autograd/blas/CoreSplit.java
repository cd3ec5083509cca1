package org.lowbit4j.autograd.blas;

/**
 * How {@link Gemm} spreads one product over the cores itself: C is cut into {@code parts} bands of rows
 * (or of columns), and each band is a single-threaded library call (OpenBLAS or oneDNN) on its own
 * core ({@link Gemm#forEachParallel}), instead of one call that the library splits over its own threads.
 *
 * <p>Why: OpenBLAS 0.3.19's own two-thread GEMM hands work between its threads and waits on them
 * several times per call, and its idle threads then spin for ~0.1 s, taking a core from whatever runs
 * next; on this 2-vCPU machine it ran 0.5-0.9x numpy at 512³ and the stories15M linear shapes and
 * varied 2x from run to run. Independent bands need no hand-over until the end.
 *
 * <p>The choice is a fixed function of the product's sizes and the core count, never of timings, so
 * runs are reproducible. NOTE: the bits do not depend on it either: neither OpenBLAS nor oneDNN cuts K
 * for a band, so every element of C is the same sum in the same order whichever call computes it; band
 * edges are multiples of {@link #ALIGN} (whole register blocks, as OpenBLAS's own thread partition) and
 * bands are at least {@link #MIN_BAND} wide (no switch to a gemv kernel). {@code CoreSplitTest} checks
 * bit for bit that split products equal unsplit ones on each library.
 *
 * @param parts the number of bands, at least 1 (1: no split, one library call)
 * @param byRows true to cut C's rows (M), false to cut its columns (N)
 */
record CoreSplit(int parts, boolean byRows) {
    /**
     * Band edges are multiples of this many rows or columns: a multiple of the register blocks of
     * OpenBLAS's AVX-512 kernels (16 x 4 for sgemm) and of oneDNN's, fine enough to balance a side of 288.
     */
    static final int ALIGN = 16;
    /** No band is narrower than this (thin products take other kernel paths, e.g. gemv for one column). */
    static final int MIN_BAND = 64;
    /**
     * Products with fewer multiply-adds (M·N·K) than this stay one call: the handoff to another core
     * (tens of microseconds) would cost about what the split saves.
     */
    static final long MIN_MULTIPLY_ADDS = 1L << 22;
    /** One library call on the calling thread. */
    static final CoreSplit NONE = new CoreSplit(1, true);

    /** Validates the components. */
    CoreSplit {
        if (parts < 1) {
            throw new IllegalArgumentException("parts must be >= 1, got " + parts);
        }
    }

    /**
     * The fixed rule: cut the longer side of C (rows on a tie) into as many bands as there are cores
     * to use, but only for products of at least {@link #MIN_MULTIPLY_ADDS} multiply-adds and only into
     * bands of at least {@link #MIN_BAND} rows or columns.
     *
     * @param m rows of C
     * @param n columns of C
     * @param k the inner size
     * @param cores the cores to use (the library's thread count, capped at the processors); 1 or less means
     *     no split
     * @return the split; {@link #NONE} when the product stays one call
     */
    static CoreSplit choose(int m, int n, int k, int cores) {
        if (cores < 2 || (long) m * n * k < MIN_MULTIPLY_ADDS) {
            return NONE;
        }
        boolean byRows = m >= n;
        int side = byRows ? m : n;
        int parts = Math.min(cores, side / MIN_BAND);
        return parts < 2 ? NONE : new CoreSplit(parts, byRows);
    }

    /**
     * Where band i starts: an even share of the side, rounded to a multiple of {@link #ALIGN}
     * ({@code start(parts)} is the whole side).
     *
     * @param side the length of the side being cut (M or N)
     * @param i the band, 0..parts
     */
    int start(int side, int i) {
        if (i <= 0) {
            return 0;
        }
        if (i >= parts) {
            return side;
        }
        long even = (long) side * i / parts;
        return (int) Math.min(side, (even + ALIGN / 2) / ALIGN * ALIGN);
    }

    /**
     * @param call the whole product
     * @param i the band, 0..parts-1
     * @return band i of the product (the whole product when there is one part)
     */
    GemmCall band(GemmCall call, int i) {
        if (parts == 1) {
            return call;
        }
        int side = byRows ? call.m() : call.n();
        int from = start(side, i);
        int to = start(side, i + 1);
        return byRows ? call.rows(from, to) : call.columns(from, to);
    }
}
