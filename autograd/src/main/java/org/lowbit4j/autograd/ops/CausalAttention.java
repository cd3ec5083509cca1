package org.lowbit4j.autograd.ops;

import java.lang.ref.Reference;
import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Causal scaled-dot-product attention with grouped-query heads as one primitive.
 *
 * <p>Inputs q [B, T, H, D], k and v [B, T, K, D] with H divisible by K; query head h reads key/value
 * head h / (H / K). Output [B, T, H, D]. Forward per (b, h): S = q k^T / sqrt(D) (a GEMM),
 * causal mask and row softmax P (saved), O = P v (a GEMM). Backward per (b, h): dV += P^T dO,
 * dP = dO v^T, dS = P (dP - rowsum(dP P)) / sqrt(D), dQ = dS k, dK += dS^T q, all GEMMs except the
 * softmax step; gradients of grouped K/V heads accumulate over their query heads in head order.
 *
 * <p>The per-head [T, D] matrices are strided views of the [B, T, heads, D] arrays (leading
 * dimension heads * D), handed to {@link Gemm} as they are: no transposed copies of q, k, v, the
 * output or the gradients are made.
 */
public final class CausalAttention extends Function {
    private long bs;
    private long t;
    private long h;
    private long kv;
    private long d;
    private double scale;
    /** Dense inputs [B, T, H, D], [B, T, K, D], [B, T, K, D], and probabilities [B, H, T, T]. */
    private INDArray q;
    private INDArray k;
    private INDArray v;
    private INDArray probs;

    @Override
    protected INDArray forward(INDArray... in) {
        long[] qs = in[0].shape();
        long[] ks = in[1].shape();
        long[] vs = in[2].shape();
        if (qs.length != 4 || ks.length != 4 || !Arrays.equals(ks, vs) || qs[0] != ks[0] || qs[1] != ks[1]
                || qs[3] != ks[3] || ks[2] == 0 || qs[2] % ks[2] != 0) {
            throw new IllegalArgumentException(name() + ": expected q [B, T, H, D] and k, v [B, T, K, D] with H divisible"
                    + " by K; got q " + Arrays.toString(qs) + ", k " + Arrays.toString(ks) + ", v " + Arrays.toString(vs));
        }
        Shapes.requireFloat(name(), "q", in[0]);
        bs = qs[0];
        t = qs[1];
        h = qs[2];
        kv = ks[2];
        d = qs[3];
        scale = 1.0 / Math.sqrt(d);
        long bytes = Math.multiplyExact(Math.multiplyExact(bs * h, t), t) * in[0].dataType().width();
        if (bytes > (1L << 34)) {
            throw new IllegalArgumentException(name() + ": the saved probabilities [" + bs + ", " + h + ", " + t + ", " + t
                    + "] would need " + bytes + " bytes; use a smaller batch or sequence");
        }
        q = Shapes.indexable(in[0]);
        k = Shapes.indexable(in[1]);
        v = Shapes.indexable(in[2]);
        // NOTE: both uninitialised: the score GEMMs (beta = 0) and causalSoftmax write every element
        // of probs (zeros above the diagonal), and the P V GEMMs every element of out.
        probs = ScratchPool.take(q.dataType(), bs, h, t, t); // [B, H, T, T], this op's own
        INDArray out = Nd4j.createUninitialized(q.dataType(), new long[] {bs, t, h, d}, 'c');
        if (t == 0 || d == 0) {
            return out;
        }
        long group = h / kv;
        Buf p = Buf.of(probs);
        // The batch entries are independent (each writes its own slices of probs and out), so they run side
        // by side on the cores; the results do not depend on how they are split.
        Gemm.forEachParallel(bs, b -> {
            for (long hi = 0; hi < h; hi++) {
                long ki = hi / group;
                INDArray s = square(probs, b, hi);
                Gemm.gemm(head(q, b, hi), false, head(k, b, ki), true, s, scale, 0.0);
                causalSoftmax(p, (b * h + hi) * t * t, t);
                Gemm.gemm(s, false, head(v, b, ki), false, head(out, b, hi), 1.0, 0.0);
            }
        });
        Reference.reachabilityFence(p);
        if (!needsGrad(0) && !needsGrad(1) && !needsGrad(2)) {
            release();
            return out;
        }
        if (!needsGrad(1) && !needsGrad(0)) {
            // dV needs only P and dO
            q = null;
            k = null;
        }
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        INDArray gd = Shapes.indexable(g); // [B, T, H, D]
        long group = h / kv;
        boolean wantQ = needsGrad(0);
        boolean wantK = needsGrad(1);
        boolean wantV = needsGrad(2);
        // NOTE: uninitialised: each head of dq, and each key/value head of dk and dv, is first written
        // by a GEMM with beta = 0 (the first query head of its group), later query heads add (beta = 1).
        INDArray dq = wantQ ? Nd4j.createUninitialized(g.dataType(), new long[] {bs, t, h, d}, 'c') : null;
        INDArray dk = wantK ? Nd4j.createUninitialized(g.dataType(), new long[] {bs, t, kv, d}, 'c') : null;
        INDArray dv = wantV ? Nd4j.createUninitialized(g.dataType(), new long[] {bs, t, kv, d}, 'c') : null;
        if (t == 0 || d == 0) {
            return new INDArray[] {dq, dk, dv};
        }
        Buf bp = Buf.of(probs);
        // Batch entries run side by side (each writes its own slices of dq, dk, dv), each with its own dP scratch.
        Gemm.forEachParallel(bs, b -> {
            INDArray dp = ScratchPool.take(probs.dataType(), t, t); // [T, T]
            Buf bdp = Buf.of(dp);
            for (long hi = 0; hi < h; hi++) {
                long ki = hi / group;
                double accumulate = hi % group == 0 ? 0.0 : 1.0; // beta: first query head of the group writes
                INDArray p = square(probs, b, hi);
                INDArray go = head(gd, b, hi);
                if (wantV) {
                    Gemm.gemm(p, true, go, false, head(dv, b, ki), 1.0, accumulate);
                }
                if (wantQ || wantK) {
                    Gemm.gemm(go, false, head(v, b, ki), true, dp, 1.0, 0.0);
                    softmaxBackward(bp, (b * h + hi) * t * t, bdp, t, scale);
                    if (wantQ) {
                        Gemm.gemm(dp, false, head(k, b, ki), false, head(dq, b, hi), 1.0, 0.0);
                    }
                    if (wantK) {
                        Gemm.gemm(dp, true, head(q, b, hi), false, head(dk, b, ki), 1.0, accumulate);
                    }
                }
            }
            Reference.reachabilityFence(bdp);
            ScratchPool.give(dp);
        });
        Reference.reachabilityFence(bp);
        return new INDArray[] {dq, dk, dv};
    }

    @Override
    protected void release() {
        q = null;
        k = null;
        v = null;
        ScratchPool.give(probs);
        probs = null;
    }

    /** @return the [T, D] matrix of head i in batch b of a dense [B, T, I, D] array: a view, row stride I * D */
    private static INDArray head(INDArray x4, long b, long i) {
        return x4.get(NDArrayIndex.point(b), NDArrayIndex.all(), NDArrayIndex.point(i), NDArrayIndex.all());
    }

    /** @return the [T, T] matrix (b, i) of a dense [B, I, T, T] array, as a C-ordered view */
    private static INDArray square(INDArray x4, long b, long i) {
        return x4.get(NDArrayIndex.point(b), NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all());
    }

    /**
     * In place on the [T, T] block at {@code base}: row r keeps softmax over columns 0..r and zeros
     * the future columns. Sums in double.
     */
    static void causalSoftmax(Buf s, long base, long t) {
        if (!s.isDouble()) {
            var m = s.segment();
            for (long r = 0; r < t; r++) {
                long row = base + r * t;
                long n = r + 1;
                float max = Kernels.max(m, row, n);
                double sum = Kernels.expShift(m, row, m, row, n, max, true);
                Kernels.scale(m, row, n, (float) (1.0 / sum));
                m.asSlice((row + n) * 4, (t - n) * 4).fill((byte) 0);
            }
            return;
        }
        for (long r = 0; r < t; r++) {
            long row = base + r * t;
            double max = Double.NEGATIVE_INFINITY;
            for (long j = 0; j <= r; j++) {
                max = Math.max(max, s.get(row + j));
            }
            double sum = 0;
            for (long j = 0; j <= r; j++) {
                double e = Math.exp(s.get(row + j) - max);
                s.set(row + j, e);
                sum += e;
            }
            // NOTE: normalize the stored (possibly float-rounded) values by the double sum: the
            // row then sums to 1 within one rounding per element.
            double inv = 1.0 / sum;
            for (long j = 0; j <= r; j++) {
                s.set(row + j, s.get(row + j) * inv);
            }
            for (long j = r + 1; j < t; j++) {
                s.set(row + j, 0.0);
            }
        }
    }

    /** In place on dP (a dense [T, T] buffer): dS = P (dP - rowsum(dP P)) * scale, causal part only. */
    static void softmaxBackward(Buf p, long base, Buf dp, long t, double scale) {
        if (!p.isDouble()) {
            var pm = p.segment();
            var dm = dp.segment();
            for (long r = 0; r < t; r++) {
                long prow = base + r * t;
                long drow = r * t;
                long n = r + 1;
                double dot = Kernels.dot(dm, drow, pm, prow, n);
                Kernels.softmaxGrad(pm, prow, dm, drow, n, (float) dot, (float) scale);
                dm.asSlice((drow + n) * 4, (t - n) * 4).fill((byte) 0);
            }
            return;
        }
        for (long r = 0; r < t; r++) {
            long prow = base + r * t;
            long drow = r * t;
            double dot = 0;
            for (long j = 0; j <= r; j++) {
                dot += dp.get(drow + j) * p.get(prow + j);
            }
            for (long j = 0; j <= r; j++) {
                dp.set(drow + j, p.get(prow + j) * (dp.get(drow + j) - dot) * scale);
            }
            for (long j = r + 1; j < t; j++) {
                dp.set(drow + j, 0.0);
            }
        }
    }
}
