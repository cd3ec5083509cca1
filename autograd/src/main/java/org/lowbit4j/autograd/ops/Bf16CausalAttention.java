package org.lowbit4j.autograd.ops;

import java.lang.ref.Reference;
import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.Bf16Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Causal scaled-dot-product attention with its four products on the BF16 GEMM, as a fused GPU attention kernel
 * does it in bf16: q, k, v are rounded to bf16; S = q k^T / sqrt(D) accumulates in fp32 and the causal softmax
 * runs in fp32; the probabilities P are rounded to bf16 for O = P v; O is rounded to bf16. Backward: the incoming
 * gradient dO is rounded to bf16; dV = P^T dO, dP = dO v^T (fp32), dS = P (dP - rowsum(dP P)) / sqrt(D) in fp32,
 * rounded to bf16 for dQ = dS k and dK = dS^T q; dQ, dK, dV are rounded to bf16.
 *
 * <p>It therefore stands for round(attention(round(q), round(k), round(v))) of the BF16 autocast policy, with
 * two roundings more than that composition (P and dS, as in FlashAttention's bf16 kernels), and runs each of the
 * products as ONE call over all batch entries and heads ({@link Gemm#matmulBf16} on [B, H, T, D] views of the
 * [B, T, H, D] arrays: oneDNN's matmul primitive where available) instead of B x H small fp32 GEMMs.
 *
 * <p>Inputs q, k, v [B, T, H, D] FLOAT with the same number of heads (no grouped-query heads: the caller keeps
 * {@link CausalAttention} for those). Output [B, T, H, D] FLOAT holding bf16 values.
 */
public final class Bf16CausalAttention extends Function {
    private long bs;
    private long t;
    private long h;
    private long d;
    private float scale;
    /** bf16 copies [B, T, H, D] of q, k, v; fp32 probabilities [B, H, T, T] and their bf16 rounding. */
    private INDArray qb;
    private INDArray kb;
    private INDArray vb;
    private INDArray probs;
    private INDArray pb;

    @Override
    protected INDArray forward(INDArray... in) {
        long[] qs = in[0].shape();
        if (qs.length != 4 || !Arrays.equals(qs, in[1].shape()) || !Arrays.equals(qs, in[2].shape())) {
            throw new IllegalArgumentException(name() + ": expected q, k, v of one shape [B, T, H, D] (no grouped-query"
                    + " heads); got q " + Arrays.toString(qs) + ", k " + Arrays.toString(in[1].shape()) + ", v "
                    + Arrays.toString(in[2].shape()));
        }
        for (int i = 0; i < 3; i++) {
            if (in[i].dataType() != DataType.FLOAT) {
                throw new IllegalArgumentException(name() + ": expected FLOAT inputs, got " + in[i].dataType());
            }
        }
        bs = qs[0];
        t = qs[1];
        h = qs[2];
        d = qs[3];
        scale = (float) (1.0 / Math.sqrt(d));
        long bytes = Math.multiplyExact(Math.multiplyExact(bs * h, t), t) * 6L;
        if (bytes > (1L << 34)) {
            throw new IllegalArgumentException(name() + ": the saved probabilities [" + bs + ", " + h + ", " + t + ", "
                    + t + "] would need " + bytes + " bytes; use a smaller batch or sequence");
        }
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, qs, 'c'); // [B, T, H, D]
        if (in[0].isEmpty()) {
            return out;
        }
        qb = bf16(in[0]);
        kb = bf16(in[1]);
        vb = bf16(in[2]);
        probs = ScratchPool.take(DataType.FLOAT, bs, h, t, t);                   // [B, H, T, T]
        Gemm.matmulBf16(heads(qb), false, heads(kb), true, probs);               // S = q k^T (unscaled)
        Buf p = Buf.of(probs);
        Gemm.forEachParallel(bs * h, i -> scaledCausalSoftmax(p, i * t * t, t, scale));
        Reference.reachabilityFence(p);
        pb = bf16(probs);                                                        // [B, H, T, T]
        Gemm.matmulBf16(pb, false, heads(vb), false, heads(out));                // O = P v
        Bf16.roundInPlace(out);
        if (!needsGrad(0) && !needsGrad(1) && !needsGrad(2)) {
            release();
        }
        return out;
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        boolean wantQ = needsGrad(0);
        boolean wantK = needsGrad(1);
        boolean wantV = needsGrad(2);
        long[] shape = {bs, t, h, d};
        INDArray dq = wantQ ? Nd4j.createUninitialized(DataType.FLOAT, shape, 'c') : null;
        INDArray dk = wantK ? Nd4j.createUninitialized(DataType.FLOAT, shape, 'c') : null;
        INDArray dv = wantV ? Nd4j.createUninitialized(DataType.FLOAT, shape, 'c') : null;
        if (g.isEmpty()) {
            return new INDArray[] {dq, dk, dv};
        }
        INDArray gb = bf16(g);                                                   // dO [B, T, H, D]
        if (wantV) {
            Gemm.matmulBf16(pb, true, heads(gb), false, heads(dv));              // dV = P^T dO
            Bf16.roundInPlace(dv);
        }
        if (wantQ || wantK) {
            INDArray dp = ScratchPool.take(DataType.FLOAT, bs, h, t, t);         // [B, H, T, T]
            Gemm.matmulBf16(heads(gb), false, heads(vb), true, dp);              // dP = dO v^T
            Buf bp = Buf.of(probs);
            Buf bdp = Buf.of(dp);
            Gemm.forEachParallel(bs * h, i -> softmaxBackward(bp, bdp, i * t * t, t, scale));
            Reference.reachabilityFence(bp);
            Reference.reachabilityFence(bdp);
            INDArray dsb = bf16(dp);                                             // dS in bf16
            ScratchPool.give(dp);
            if (wantQ) {
                Gemm.matmulBf16(dsb, false, heads(kb), false, heads(dq));        // dQ = dS k
                Bf16.roundInPlace(dq);
            }
            if (wantK) {
                Gemm.matmulBf16(dsb, true, heads(qb), false, heads(dk));         // dK = dS^T q
                Bf16.roundInPlace(dk);
            }
            ScratchPool.give(dsb);
        }
        ScratchPool.give(gb);
        return new INDArray[] {dq, dk, dv};
    }

    /** @return x rounded into a pooled, C-ordered BFLOAT16 array of its shape */
    private static INDArray bf16(INDArray x) {
        INDArray b = ScratchPool.take(DataType.BFLOAT16, x.shape());
        Bf16Arrays.toBf16(x, b);
        return b;
    }

    /** @return the [B, H, T, D] view of a [B, T, H, D] array (one matrix per batch entry and head) */
    private static INDArray heads(INDArray x) {
        return x.permute(0, 2, 1, 3);
    }

    /** In place on the [T, T] block at base: row r becomes softmax(scale * row[0..r]) and zeros after r. */
    private static void scaledCausalSoftmax(Buf s, long base, long t, float scale) {
        var m = s.segment();
        for (long r = 0; r < t; r++) {
            long row = base + r * t;
            long n = r + 1;
            Kernels.scale(m, row, n, scale);
            float max = Kernels.max(m, row, n);
            double sum = Kernels.expShift(m, row, m, row, n, max, true);
            Kernels.scale(m, row, n, (float) (1.0 / sum));
            m.asSlice((row + n) * 4, (t - n) * 4).fill((byte) 0);
        }
    }

    /** In place on the [T, T] block of dP at base: dS = P (dP - rowsum(dP P)) * scale, zeros after the diagonal. */
    private static void softmaxBackward(Buf p, Buf dp, long base, long t, float scale) {
        var pm = p.segment();
        var dm = dp.segment();
        for (long r = 0; r < t; r++) {
            long row = base + r * t;
            long n = r + 1;
            double dot = Kernels.dot(dm, row, pm, row, n);
            Kernels.softmaxGrad(pm, row, dm, row, n, (float) dot, scale);
            dm.asSlice((row + n) * 4, (t - n) * 4).fill((byte) 0);
        }
    }

    @Override
    protected void release() {
        ScratchPool.give(qb);
        ScratchPool.give(kb);
        ScratchPool.give(vb);
        ScratchPool.give(probs);
        ScratchPool.give(pb);
        qb = null;
        kb = null;
        vb = null;
        probs = null;
        pb = null;
    }
}
