package org.lowbit4j.optim;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.optim.kernel.FloatView;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Gradient clipping by global L2 norm, as PyTorch's {@code clip_grad_norm_}. */
public final class GradClip {
    private GradClip() {
    }

    /**
     * The L2 norm of all gradients together, summed in double one element at a time over parameters in list
     * order (so it is deterministic to the bit). Parameters without a gradient contribute nothing.
     *
     * @param params parameters
     * @return {@code sqrt(sum of g^2)}
     */
    public static double globalNorm(List<Tensor> params) {
        double sum = 0;
        for (Tensor t : params) {
            INDArray g = t.grad();
            if (g == null) {
                continue;
            }
            if (g.dataType() == DataType.DOUBLE) {
                INDArray d = g.dup('c');
                double[] a = d.data().asDouble();
                for (double x : a) {
                    sum += x * x;
                }
                continue;
            }
            MemorySegment s = FloatView.of(g, "gradient of " + t).segment();
            long n = g.length();
            for (long i = 0; i < n; i++) {
                double x = s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                sum += x * x;
            }
        }
        return Math.sqrt(sum);
    }

    /**
     * Scales all gradients in place by {@code maxNorm / (norm + 1e-6)} when the global norm exceeds
     * {@code maxNorm}; leaves them unchanged otherwise, and also when the norm is not finite (the caller
     * should then skip the step).
     *
     * @param params parameters
     * @param maxNorm the largest allowed global norm, finite and > 0
     * @return the global norm before clipping (possibly NaN or infinite)
     * @throws IllegalArgumentException if {@code maxNorm} is not finite and positive
     */
    public static double clipGradNorm(List<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0 && Double.isFinite(maxNorm))) {
            throw new IllegalArgumentException("maxNorm must be finite and > 0, got " + maxNorm);
        }
        double norm = globalNorm(params);
        if (Double.isFinite(norm) && norm > maxNorm) {
            double coef = maxNorm / (norm + 1e-6);
            for (Tensor t : params) {
                if (t.grad() != null) {
                    t.grad().muli(coef);
                }
            }
        }
        return norm;
    }
}
