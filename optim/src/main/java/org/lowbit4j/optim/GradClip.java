package org.lowbit4j.optim;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.List;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.optim.kernel.ClipKernel;
import org.lowbit4j.optim.kernel.FloatView;
import org.lowbit4j.optim.kernel.Workers;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradient clipping by global L2 norm, as PyTorch's {@code clip_grad_norm_}.
 *
 * <p>The norm is deterministic to the bit for any thread count: each gradient is cut into fixed chunks of
 * {@link ClipKernel#CHUNK} elements, each chunk's sum of squares is computed in double in a fixed order
 * ({@link ClipKernel#sumSquares}), and the chunk sums are added in index order (parameters in list order,
 * chunks in element order). The threads only decide who computes which chunk sums.
 */
public final class GradClip {
    private GradClip() {
    }

    /**
     * One gradient: chunks [first, first + chunks) of the global chunk order. A float gradient has a view and
     * {@code ceil(n / CHUNK)} chunks; a float64 gradient has its elements in {@code doubles} and one chunk.
     */
    private record Part(FloatView view, double[] doubles, long n, int first, int chunks) {
    }

    /**
     * {@link #globalNorm(List, int)} on all available processors.
     *
     * @param params parameters
     * @return {@code sqrt(sum of g^2)}
     */
    public static double globalNorm(List<Tensor> params) {
        return globalNorm(params, Runtime.getRuntime().availableProcessors());
    }

    /**
     * The L2 norm of all gradients together (see the class comment for the summation order; the same bits for
     * any {@code threads}). Parameters without a gradient contribute nothing; a float64 gradient is summed in
     * double one element at a time, as one chunk.
     *
     * @param params parameters
     * @param threads threads to sum on, >= 1
     * @return {@code sqrt(sum of g^2)}
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public static double globalNorm(List<Tensor> params, int threads) {
        Workers workers = Workers.of(threads);
        List<Part> parts = new ArrayList<>();
        int total = 0;
        for (Tensor t : params) {
            INDArray g = t.grad();
            if (g == null) {
                continue;
            }
            if (g.dataType() == DataType.DOUBLE) {
                parts.add(new Part(null, g.dup('c').data().asDouble(), g.length(), total, 1));
                total++;
                continue;
            }
            // NOTE: in place for a dense float32 gradient, else a float32 copy (exact for bf16/fp16), which the
            // view keeps alive: the parts hold the view, not just its segment, until the sum is done.
            FloatView view = FloatView.of(g, "gradient of " + t);
            int chunks = (int) ((g.length() + ClipKernel.CHUNK - 1) / ClipKernel.CHUNK);
            parts.add(new Part(view, null, g.length(), total, chunks));
            total += chunks;
        }
        double[] sums = new double[total];
        int chunkCount = total;
        int groups = workers.chunksFor((long) ClipKernel.CHUNK * total, ClipKernel.CHUNK);
        workers.run(groups, k -> sumChunks(parts, sums, Workers.chunkStart(k, groups, chunkCount, 1),
                Workers.chunkStart(k + 1, groups, chunkCount, 1)));
        double sum = 0;
        for (Part part : parts) {
            if (part.doubles() != null) {
                for (double x : part.doubles()) {
                    sum += x * x;
                }
                continue;
            }
            for (int c = part.first(); c < part.first() + part.chunks(); c++) {
                sum += sums[c];
            }
        }
        Reference.reachabilityFence(parts);
        return Math.sqrt(sum);
    }

    /** Fills {@code sums[lo, hi)} with the sums of squares of those chunks of the float gradients. */
    private static void sumChunks(List<Part> parts, double[] sums, int lo, int hi) {
        for (Part part : parts) {
            int a = Math.max(lo, part.first()) - part.first();
            int b = Math.min(hi, part.first() + part.chunks()) - part.first();
            if (part.view() == null || a >= b) {
                continue;
            }
            MemorySegment x = part.view().segment();
            for (int c = a; c < b; c++) {
                long from = (long) c * ClipKernel.CHUNK;
                sums[part.first() + c] = ClipKernel.sumSquares(x, from, (int) Math.min(ClipKernel.CHUNK, part.n() - from));
            }
        }
    }

    /**
     * {@link #clipGradNorm(List, double, int)} on all available processors.
     *
     * @throws IllegalArgumentException if {@code maxNorm} is not finite and positive
     */
    public static double clipGradNorm(List<Tensor> params, double maxNorm) {
        return clipGradNorm(params, maxNorm, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Scales all gradients in place by {@code maxNorm / (norm + 1e-6)} when the global norm exceeds
     * {@code maxNorm}; leaves them unchanged otherwise, and also when the norm is not finite (the caller
     * should then skip the step). A dense float32 gradient is multiplied by the coefficient rounded to float
     * ({@link ClipKernel#scale}, what ND4J's {@code muli} computes); any other by ND4J's {@code muli}.
     *
     * @param params parameters
     * @param maxNorm the largest allowed global norm, finite and > 0
     * @param threads threads to work on, >= 1 (the results do not depend on them)
     * @return the global norm before clipping (possibly NaN or infinite)
     * @throws IllegalArgumentException if {@code maxNorm} is not finite and positive, or {@code threads < 1}
     */
    public static double clipGradNorm(List<Tensor> params, double maxNorm, int threads) {
        if (!(maxNorm > 0 && Double.isFinite(maxNorm))) {
            throw new IllegalArgumentException("maxNorm must be finite and > 0, got " + maxNorm);
        }
        double norm = globalNorm(params, threads);
        if (Double.isFinite(norm) && norm > maxNorm) {
            double coef = maxNorm / (norm + 1e-6);
            Workers workers = Workers.of(threads);
            for (Tensor t : params) {
                INDArray g = t.grad();
                if (g == null) {
                    continue;
                }
                if (g.dataType() != DataType.FLOAT || !FloatView.isDenseC(g)) {
                    g.muli(coef);
                    continue;
                }
                MemorySegment s = FloatView.segmentOf(g);
                int n = (int) g.length();
                int parts = workers.chunksFor(n, ClipKernel.CHUNK);
                workers.run(parts, k -> {
                    int from = Workers.chunkStart(k, parts, n, ClipKernel.CHUNK);
                    ClipKernel.scale(s, from, Workers.chunkStart(k + 1, parts, n, ClipKernel.CHUNK) - from,
                            (float) coef);
                });
            }
        }
        return norm;
    }
}
