package org.lowbit4j.autograd.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels of the row-wise primitives that work on FLOAT arrays in double precision
 * (RMSNorm's backward, RoPE) and of the embedding's scatter-add, each with a scalar twin
 * ({@code ...Scalar}) that tests compare against bit for bit. Offsets and lengths are in elements.
 *
 * <p>NOTE: these kernels reproduce their scalar twins exactly, not just closely: every element
 * goes through the same double operations in the same order (no fused multiply-add; float
 * products are exact in double), and the one sequential sum (RMSNorm's per-row dot product) stays
 * sequential, running four rows side by side instead of splitting a row into lanes.
 *
 * <p>NOTE: like {@link DeterministicExp#expInto}, loop bodies call the Vector API directly, with no
 * helper method in between: a helper that C2 does not inline boxes its vectors, and the kernel
 * then runs many times slower than its scalar twin.
 */
final class RowKernels {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats with as many lanes as {@link #D}, converted to and from doubles. */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED
            .withShape(VectorShape.forBitSize(D.vectorBitSize() / 2));
    private static final VectorSpecies<Float> FW = FloatVector.SPECIES_PREFERRED;
    private static final VectorShuffle<Double> SWAP_PAIRS = VectorShuffle.fromOp(D, i -> i ^ 1);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Rows whose sequential dot products run side by side. */
    static final int ROW_BLOCK = 4;
    /** Arrays of fewer elements stay on the calling thread (a handoff to another core costs tens of microseconds). */
    static final long PARALLEL_MIN = 1L << 15;

    private RowKernels() {
    }

    private static double get(MemorySegment m, long i) {
        return m.getAtIndex(F32, i);
    }

    // ---- RMSNorm backward ----

    /**
     * RMSNorm's input gradient for rows [rowFrom, rowTo) of width c, y = x r w with r the saved 1/rms
     * per row: {@code dx = r g w - x r^3 sum_j(g w x) / c}, every term in double, the sum over j
     * sequential, rounded to float once.
     *
     * @param x the input [rows, c]
     * @param g the output gradient [rows, c]
     * @param w the weight [c]
     * @param dx where dx goes [rows, c]; only the given rows are written
     * @param r 1/rms of each row
     */
    static void rmsNormInputGrad(MemorySegment x, MemorySegment g, MemorySegment w, MemorySegment dx, double[] r,
            int c, int rowFrom, int rowTo) {
        double[] prod = new double[ROW_BLOCK * c];
        double[] dots = new double[ROW_BLOCK];
        int bound = D.loopBound(c);
        for (int row0 = rowFrom; row0 < rowTo; row0 += ROW_BLOCK) {
            int n = Math.min(ROW_BLOCK, rowTo - row0);
            for (int k = 0; k < n; k++) {
                long base = (long) (row0 + k) * c;
                int off = k * c;
                int j = 0;
                for (; j < bound; j += D.length()) {
                    DoubleVector gv = (DoubleVector) FloatVector.fromMemorySegment(F, g, (base + j) * 4, ORDER)
                            .convertShape(VectorOperators.F2D, D, 0);
                    DoubleVector wv = (DoubleVector) FloatVector.fromMemorySegment(F, w, j * 4L, ORDER)
                            .convertShape(VectorOperators.F2D, D, 0);
                    DoubleVector xv = (DoubleVector) FloatVector.fromMemorySegment(F, x, (base + j) * 4, ORDER)
                            .convertShape(VectorOperators.F2D, D, 0);
                    gv.mul(wv).mul(xv).intoArray(prod, off + j);
                }
                for (; j < c; j++) {
                    prod[off + j] = get(g, base + j) * get(w, j) * get(x, base + j);
                }
            }
            sequentialSums(prod, c, n, dots);
            for (int k = 0; k < n; k++) {
                long base = (long) (row0 + k) * c;
                double ri = r[row0 + k];
                double kk = ri * ri * ri * dots[k] / c;
                int j = 0;
                for (; j < bound; j += D.length()) {
                    DoubleVector gv = (DoubleVector) FloatVector.fromMemorySegment(F, g, (base + j) * 4, ORDER)
                            .convertShape(VectorOperators.F2D, D, 0);
                    DoubleVector wv = (DoubleVector) FloatVector.fromMemorySegment(F, w, j * 4L, ORDER)
                            .convertShape(VectorOperators.F2D, D, 0);
                    DoubleVector xv = (DoubleVector) FloatVector.fromMemorySegment(F, x, (base + j) * 4, ORDER)
                            .convertShape(VectorOperators.F2D, D, 0);
                    gv.mul(ri).mul(wv).sub(xv.mul(kk)).convertShape(VectorOperators.D2F, F, 0)
                            .intoMemorySegment(dx, (base + j) * 4, ORDER);
                }
                for (; j < c; j++) {
                    dx.setAtIndex(F32, base + j, (float) (ri * get(g, base + j) * get(w, j) - get(x, base + j) * kk));
                }
            }
        }
    }

    /** dots[k] = prod[k c] + prod[k c + 1] + ... in that order, for k in [0, n); rows side by side. */
    private static void sequentialSums(double[] prod, int c, int n, double[] dots) {
        if (n == ROW_BLOCK) {
            double s0 = 0;
            double s1 = 0;
            double s2 = 0;
            double s3 = 0;
            for (int j = 0; j < c; j++) {
                s0 += prod[j];
                s1 += prod[c + j];
                s2 += prod[2 * c + j];
                s3 += prod[3 * c + j];
            }
            dots[0] = s0;
            dots[1] = s1;
            dots[2] = s2;
            dots[3] = s3;
            return;
        }
        for (int k = 0; k < n; k++) {
            double s = 0;
            for (int j = 0; j < c; j++) {
                s += prod[k * c + j];
            }
            dots[k] = s;
        }
    }

    /** Scalar twin of {@link #rmsNormInputGrad}: one row at a time, as the formula reads. */
    static void rmsNormInputGradScalar(MemorySegment x, MemorySegment g, MemorySegment w, MemorySegment dx,
            double[] r, int c, int rowFrom, int rowTo) {
        for (int row = rowFrom; row < rowTo; row++) {
            long base = (long) row * c;
            double ri = r[row];
            double dot = 0;
            for (int j = 0; j < c; j++) {
                dot += get(g, base + j) * get(w, j) * get(x, base + j);
            }
            double k = ri * ri * ri * dot / c;
            for (int j = 0; j < c; j++) {
                dx.setAtIndex(F32, base + j, (float) (ri * get(g, base + j) * get(w, j) - get(x, base + j) * k));
            }
        }
    }

    /**
     * RMSNorm's weight gradient: {@code dw[j] += g x r} over rows [rowFrom, rowTo) in order, in double.
     *
     * @param x the input [rows, c]
     * @param g the output gradient [rows, c]
     * @param dw the sums [c], added to
     * @param r 1/rms of each row
     */
    static void rmsNormWeightGrad(MemorySegment x, MemorySegment g, double[] dw, double[] r, int c, int rowFrom,
            int rowTo) {
        int bound = D.loopBound(c);
        for (int row = rowFrom; row < rowTo; row++) {
            long base = (long) row * c;
            double ri = r[row];
            int j = 0;
            for (; j < bound; j += D.length()) {
                DoubleVector gv = (DoubleVector) FloatVector.fromMemorySegment(F, g, (base + j) * 4, ORDER)
                        .convertShape(VectorOperators.F2D, D, 0);
                DoubleVector xv = (DoubleVector) FloatVector.fromMemorySegment(F, x, (base + j) * 4, ORDER)
                        .convertShape(VectorOperators.F2D, D, 0);
                DoubleVector.fromArray(D, dw, j).add(gv.mul(xv).mul(ri)).intoArray(dw, j);
            }
            for (; j < c; j++) {
                dw[j] += get(g, base + j) * get(x, base + j) * ri;
            }
        }
    }

    /** Scalar twin of {@link #rmsNormWeightGrad}. */
    static void rmsNormWeightGradScalar(MemorySegment x, MemorySegment g, double[] dw, double[] r, int c,
            int rowFrom, int rowTo) {
        for (int row = rowFrom; row < rowTo; row++) {
            long base = (long) row * c;
            double ri = r[row];
            for (int j = 0; j < c; j++) {
                dw[j] += get(g, base + j) * get(x, base + j) * ri;
            }
        }
    }

    // ---- RoPE ----

    /**
     * Rotates the pairs (2i, 2i+1) of every head: {@code y[2i] = x[2i] c - x[2i+1] s},
     * {@code y[2i+1] = x[2i] s + x[2i+1] c}, in double, rounded to float once.
     *
     * @param src the input [B, T, H, d]
     * @param dst the output, same shape, distinct from src; only rows [rowFrom, rowTo) of B T are written
     * @param rowFrom the first (b, t) row, flattened
     * @param rowTo the end of the rows
     * @param t T (positions)
     * @param h H (heads)
     * @param d the head size, even
     * @param cos the cosine of each (position, element) [T, d] (both elements of a pair carry their pair's value)
     * @param sinSigned the sine of each (position, element) [T, d], negated at even elements
     * @param inverse true to rotate by the negative angle (the backward)
     */
    static void rope(MemorySegment src, MemorySegment dst, long rowFrom, long rowTo, int t, long h, int d, float[] cos,
            float[] sinSigned, boolean inverse) {
        int bound = d % 2 == 0 && D.length() % 2 == 0 ? D.loopBound(d) : 0;
        for (long row = rowFrom; row < rowTo; row++) {
            int tab = (int) (row % t) * d;
            for (long hi = 0; hi < h; hi++) {
                long base = (row * h + hi) * d;
                int j = 0;
                for (; j < bound; j += D.length()) {
                    DoubleVector v = (DoubleVector) FloatVector.fromMemorySegment(F, src, (base + j) * 4, ORDER)
                            .convertShape(VectorOperators.F2D, D, 0);
                    DoubleVector cv = (DoubleVector) FloatVector.fromArray(F, cos, tab + j)
                            .convertShape(VectorOperators.F2D, D, 0);
                    DoubleVector sv = (DoubleVector) FloatVector.fromArray(F, sinSigned, tab + j)
                            .convertShape(VectorOperators.F2D, D, 0);
                    v.mul(cv).add(v.rearrange(SWAP_PAIRS).mul(inverse ? sv.neg() : sv))
                            .convertShape(VectorOperators.D2F, F, 0).intoMemorySegment(dst, (base + j) * 4, ORDER);
                }
                ropeTail(src, dst, base, j, d, tab, cos, sinSigned, inverse);
            }
        }
    }

    /** Scalar twin of {@link #rope}. */
    static void ropeScalar(MemorySegment src, MemorySegment dst, long rowFrom, long rowTo, int t, long h, int d,
            float[] cos, float[] sinSigned, boolean inverse) {
        for (long row = rowFrom; row < rowTo; row++) {
            int tab = (int) (row % t) * d;
            for (long hi = 0; hi < h; hi++) {
                ropeTail(src, dst, (row * h + hi) * d, 0, d, tab, cos, sinSigned, inverse);
            }
        }
    }

    private static void ropeTail(MemorySegment src, MemorySegment dst, long base, int from, int d, int tab, float[] cos,
            float[] sinSigned, boolean inverse) {
        for (int j = from; j < d; j += 2) {
            double c = cos[tab + j];
            double sn = inverse ? sinSigned[tab + j + 1] * -1.0 : sinSigned[tab + j + 1]; // the pair's sine
            double v0 = get(src, base + j);
            double v1 = get(src, base + j + 1);
            dst.setAtIndex(F32, base + j, (float) (v0 * c - v1 * sn));
            dst.setAtIndex(F32, base + j + 1, (float) (v0 * sn + v1 * c));
        }
    }

    // ---- embedding ----

    /**
     * dst[idx[i]] += src[i] for every row i in order (rows of c elements): the embedding's backward,
     * each element summed in index order (float additions, as a scalar loop would).
     */
    static void scatterAddRows(MemorySegment src, MemorySegment dst, long[] idx, int c) {
        int bound = FW.loopBound(c);
        for (int i = 0; i < idx.length; i++) {
            long from = (long) i * c;
            long to = idx[i] * c;
            int j = 0;
            for (; j < bound; j += FW.length()) {
                FloatVector.fromMemorySegment(FW, dst, (to + j) * 4, ORDER)
                        .add(FloatVector.fromMemorySegment(FW, src, (from + j) * 4, ORDER))
                        .intoMemorySegment(dst, (to + j) * 4, ORDER);
            }
            for (; j < c; j++) {
                dst.setAtIndex(F32, to + j, dst.getAtIndex(F32, to + j) + src.getAtIndex(F32, from + j));
            }
        }
    }

    /** Scalar twin of {@link #scatterAddRows}. */
    static void scatterAddRowsScalar(MemorySegment src, MemorySegment dst, long[] idx, int c) {
        for (int i = 0; i < idx.length; i++) {
            long from = (long) i * c;
            long to = idx[i] * c;
            for (int j = 0; j < c; j++) {
                dst.setAtIndex(F32, to + j, dst.getAtIndex(F32, to + j) + src.getAtIndex(F32, from + j));
            }
        }
    }
}
