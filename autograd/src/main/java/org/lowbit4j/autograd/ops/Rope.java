package org.lowbit4j.autograd.ops;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rotary position embedding in llama2.c's convention: within each head, elements (2i, 2i+1) rotate
 * by angle (startPos + t) * theta^(-2i/D):
 * {@code y[2i] = x[2i] cos - x[2i+1] sin, y[2i+1] = x[2i] sin + x[2i+1] cos}.
 * Backward rotates the gradient by the negative angle.
 *
 * <p>Input and output: [B, T, H, D], D even. Angles and their cos/sin are computed in double and
 * then rounded to the input type; tables are cached per (T, D, theta, startPos, type). FLOAT
 * arrays rotate in {@link RowKernels#rope} (bit for bit the scalar formulas below; rows split over
 * two cores for large inputs); the backward writes into {@link #gradBuffer} memory.
 */
public final class Rope extends Function {
    private static final int CACHE_SIZE = 32;
    private static final Map<Key, double[][]> CACHE = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, double[][]> e) {
            return size() > CACHE_SIZE;
        }
    };

    private record Key(long t, long d, double theta, long startPos, DataType type) {
    }

    private static final Map<Key, float[][]> FLOAT_CACHE = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, float[][]> e) {
            return size() > CACHE_SIZE;
        }
    };

    private final long startPos;
    private final double theta;

    /**
     * @param startPos position of the first time step (>= 0)
     * @param theta base of the frequencies (10000 in Llama 2)
     * @throws IllegalArgumentException for a negative start or a non-positive theta
     */
    public Rope(long startPos, double theta) {
        if (startPos < 0) {
            throw new IllegalArgumentException("Rope: startPos must be >= 0, got " + startPos);
        }
        if (!(theta > 0) || Double.isInfinite(theta)) {
            throw new IllegalArgumentException("Rope: theta must be positive and finite, got " + theta);
        }
        this.startPos = startPos;
        this.theta = theta;
    }

    /**
     * @return {cos, sin}, each [T * D/2] row-major over (t, i), rounded to {@code type}'s precision
     */
    static double[][] tables(long t, long d, double theta, long startPos, DataType type) {
        Key key = new Key(t, d, theta, startPos, type);
        synchronized (CACHE) {
            double[][] hit = CACHE.get(key);
            if (hit != null) {
                return hit;
            }
        }
        int half = (int) (d / 2);
        double[] cos = new double[(int) (t * half)];
        double[] sin = new double[cos.length];
        for (int pos = 0; pos < t; pos++) {
            for (int i = 0; i < half; i++) {
                double freq = Math.pow(theta, -(2.0 * i) / d);
                double angle = (startPos + pos) * freq;
                double c = Math.cos(angle);
                double s = Math.sin(angle);
                cos[pos * half + i] = type == DataType.FLOAT ? (float) c : c;
                sin[pos * half + i] = type == DataType.FLOAT ? (float) s : s;
            }
        }
        double[][] tab = {cos, sin};
        synchronized (CACHE) {
            CACHE.put(key, tab);
        }
        return tab;
    }

    /**
     * The tables of {@link #tables} for FLOAT inputs, per element for {@link RowKernels#rope}:
     * {cos, sinSigned}, each [T * D] row-major over (t, j), both elements of pair i holding pair i's
     * value and the sine negated at even j.
     */
    static float[][] floatTables(long t, long d, double theta, long startPos) {
        Key key = new Key(t, d, theta, startPos, DataType.FLOAT);
        synchronized (FLOAT_CACHE) {
            float[][] hit = FLOAT_CACHE.get(key);
            if (hit != null) {
                return hit;
            }
        }
        double[][] tab = tables(t, d, theta, startPos, DataType.FLOAT);
        int half = (int) (d / 2);
        float[] cos = new float[(int) (t * d)];
        float[] sin = new float[cos.length];
        for (int pos = 0; pos < t; pos++) {
            for (int i = 0; i < half; i++) {
                int j = (int) (pos * d) + 2 * i;
                cos[j] = (float) tab[0][pos * half + i];
                cos[j + 1] = cos[j];
                sin[j] = (float) -tab[1][pos * half + i];
                sin[j + 1] = (float) tab[1][pos * half + i];
            }
        }
        float[][] out = {cos, sin};
        synchronized (FLOAT_CACHE) {
            FLOAT_CACHE.put(key, out);
        }
        return out;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        long[] s = in[0].shape();
        if (s.length != 4 || s[3] % 2 != 0) {
            throw new IllegalArgumentException(name() + ": input must be [B, T, H, D] with D even, got " + Arrays.toString(s));
        }
        Shapes.requireFloat(name(), "input", in[0]);
        if (s[1] * s[3] > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name() + ": table T * D too large for " + Arrays.toString(s));
        }
        INDArray out = Nd4j.createUninitialized(in[0].dataType(), s, 'c'); // every element written by rotate
        rotate(Shapes.dense(in[0]), out, s, false);
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        INDArray dx = gradBuffer(0); // [B, T, H, D]
        rotate(Shapes.dense(g), dx, g.shape(), true);
        return new INDArray[] {dx};
    }

    /** Rotates every pair of src into dst (dense, distinct, same shape); inverse rotates by the negative angle. */
    private void rotate(INDArray src, INDArray dst, long[] s, boolean inverse) {
        if (Shapes.count(s) == 0) {
            return;
        }
        Buf bs = Buf.of(src);
        Buf bd = Buf.of(dst);
        if (bs.isDouble()) {
            rotateScalar(bs, bd, s, tables(s[1], s[3], theta, startPos, DataType.DOUBLE), inverse ? -1.0 : 1.0);
        } else {
            float[][] tab = floatTables(s[1], s[3], theta, startPos);
            MemorySegment from = bs.segment();
            MemorySegment to = bd.segment();
            long rows = s[0] * s[1];
            if (Shapes.count(s) < RowKernels.PARALLEL_MIN || rows < 2) {
                RowKernels.rope(from, to, 0, rows, (int) s[1], s[2], (int) s[3], tab[0], tab[1], inverse);
            } else {
                // each row is rotated the same way wherever it runs: the split never changes the bits
                Gemm.forEachParallel(2, part -> RowKernels.rope(from, to, part * rows / 2, (part + 1) * rows / 2,
                        (int) s[1], s[2], (int) s[3], tab[0], tab[1], inverse));
            }
        }
        Reference.reachabilityFence(bs);
        Reference.reachabilityFence(bd);
    }

    /** Rotates every pair of src into dst; sign -1 rotates by the negative angle (DOUBLE arrays). */
    private static void rotateScalar(Buf src, Buf dst, long[] s, double[][] tab, double sign) {
        long b = s[0];
        long t = s[1];
        long h = s[2];
        long d = s[3];
        int half = (int) (d / 2);
        double[] cos = tab[0];
        double[] sin = tab[1];
        for (long bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (long hi = 0; hi < h; hi++) {
                    long base = ((bi * t + ti) * h + hi) * d;
                    for (int i = 0; i < half; i++) {
                        double c = cos[ti * half + i];
                        double sn = sign * sin[ti * half + i];
                        double v0 = src.get(base + 2L * i);
                        double v1 = src.get(base + 2L * i + 1);
                        dst.set(base + 2L * i, v0 * c - v1 * sn);
                        dst.set(base + 2L * i + 1, v0 * sn + v1 * c);
                    }
                }
            }
        }
        Reference.reachabilityFence(src);
        Reference.reachabilityFence(dst);
    }
}
