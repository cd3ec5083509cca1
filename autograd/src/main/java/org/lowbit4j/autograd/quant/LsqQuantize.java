package org.lowbit4j.autograd.quant;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.IntCodec;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Learned step size quantization (LSQ, Esser et al. 2020) for symmetric INT-k: inputs {@code x} and a positive
 * {@code scale}, output {@code y = clamp(rint(x / s), Qn, Qp) * s}. Backward, with {@code v = x / s}:
 * <ul>
 *   <li>{@code dL/dx = dL/dy} where {@code Qn <= v <= Qp}, else 0;</li>
 *   <li>{@code dL/ds = gradScale * sum over the elements using s of dL/dy * (rint(v) - v)} inside the range,
 *       {@code Qn} below it and {@code Qp} above it.</li>
 * </ul>
 * The default {@code gradScale} is LSQ's {@code 1 / sqrt(elementsPerScale * Qp)}; pass 1 for the raw gradient.
 *
 * <p>Shapes: {@code x} any shape; {@code scale} a single element (per tensor) or of the same rank with each
 * dimension 1 or equal to x's (e.g. {@code [out, 1]} per output channel of {@code [out, in]}).
 */
public final class LsqQuantize extends Function {
    private final IntCodec codec;
    private final double gradScale;
    private double[] v;
    private int[] scaleIndex;
    private long[] scaleShape;
    private int scaleCount;

    /**
     * @param codec a symmetric INT-k codec
     * @param gradScale the scale gradient factor, or NaN for LSQ's default
     * @throws IllegalArgumentException for an asymmetric codec or a non-positive gradScale
     */
    public LsqQuantize(IntCodec codec, double gradScale) {
        if (codec.mode() == IntCodec.Mode.ASYMMETRIC) {
            throw new IllegalArgumentException("LSQ here learns a scale only; use a symmetric codec");
        }
        if (!Double.isNaN(gradScale) && !(gradScale > 0)) {
            throw new IllegalArgumentException("gradScale must be positive (or NaN for the default), got " + gradScale);
        }
        this.codec = codec;
        this.gradScale = gradScale;
    }

    /** Convenience: {@code new LsqQuantize(codec, NaN).apply(x, scale)}. */
    public static Tensor apply(Tensor x, Tensor scale, IntCodec codec) {
        return new LsqQuantize(codec, Double.NaN).apply(x, scale);
    }

    /**
     * Initial scale of LSQ: {@code 2 * mean|x| / sqrt(Qp)}.
     *
     * @return the value for a per-tensor scale parameter
     */
    public static double initialScale(INDArray x, IntCodec codec) {
        return 2 * x.ameanNumber().doubleValue() / Math.sqrt(codec.qmax());
    }

    @Override
    protected INDArray forward(INDArray... inputs) {
        INDArray x = inputs[0];
        INDArray s = inputs[1];
        long[] xs = x.shape();
        scaleShape = s.shape();
        double[] xv = FakeQuantizer.values(x);
        double[] sv = FakeQuantizer.values(s);
        scaleIndex = broadcastIndex(xs, scaleShape, sv.length);
        scaleCount = sv.length;
        for (int i = 0; i < sv.length; i++) {
            if (!(sv[i] > 0) || !Double.isFinite(sv[i])) {
                throw new IllegalArgumentException(name() + ": scale element " + i + " must be positive and finite, got "
                        + sv[i]);
            }
        }
        v = new double[xv.length];
        double[] y = new double[xv.length];
        int qn = codec.qmin();
        int qp = codec.qmax();
        for (int e = 0; e < xv.length; e++) {
            double s1 = sv[scaleIndex == null ? 0 : scaleIndex[e]];
            v[e] = xv[e] / s1;
            y[e] = Math.max(qn, Math.min(qp, Math.rint(v[e]))) * s1;
        }
        return FakeQuantizer.toArray(y, xs, x.dataType());
    }

    /** Maps each element of x to its scale element, or null for a single scale. */
    private int[] broadcastIndex(long[] xs, long[] ss, int scaleLen) {
        if (scaleLen == 1) {
            return null;
        }
        if (ss.length != xs.length) {
            throw new IllegalArgumentException(name() + ": scale shape " + Arrays.toString(ss)
                    + " must have one element or the rank of x " + Arrays.toString(xs));
        }
        long n = 1;
        for (int d = 0; d < xs.length; d++) {
            if (ss[d] != 1 && ss[d] != xs[d]) {
                throw new IllegalArgumentException(name() + ": scale dimension " + d + " is " + ss[d]
                        + ", expected 1 or " + xs[d]);
            }
            n *= xs[d];
        }
        int[] idx = new int[(int) n];
        int[] coord = new int[xs.length];
        for (int e = 0; e < n; e++) {
            int si = 0;
            for (int d = 0; d < xs.length; d++) {
                si = si * (int) ss[d] + (ss[d] == 1 ? 0 : coord[d]);
            }
            idx[e] = si;
            for (int d = xs.length - 1; d >= 0; d--) {
                if (++coord[d] < xs[d]) {
                    break;
                }
                coord[d] = 0;
            }
        }
        return idx;
    }

    @Override
    protected INDArray[] backward(INDArray gradOutput) {
        double[] g = FakeQuantizer.values(gradOutput);
        int qn = codec.qmin();
        int qp = codec.qmax();
        double[] dx = new double[g.length];
        double[] ds = new double[scaleCount];
        double factor = Double.isNaN(gradScale) ? 1 / Math.sqrt((double) g.length / scaleCount * qp) : gradScale;
        for (int e = 0; e < g.length; e++) {
            int si = scaleIndex == null ? 0 : scaleIndex[e];
            double ve = v[e];
            if (ve < qn) {
                ds[si] += g[e] * qn;
            } else if (ve > qp) {
                ds[si] += g[e] * qp;
            } else {
                dx[e] = g[e];
                ds[si] += g[e] * (Math.rint(ve) - ve);
            }
        }
        for (int i = 0; i < ds.length; i++) {
            ds[i] *= factor;
        }
        return new INDArray[] {
            needsGrad(0) ? FakeQuantizer.toArray(dx, gradOutput.shape(), gradOutput.dataType()) : null,
            needsGrad(1) ? FakeQuantizer.toArray(ds, scaleShape, gradOutput.dataType()) : null};
    }

    @Override
    protected void release() {
        v = null;
        scaleIndex = null;
    }

    @Override
    public String name() {
        return "LsqQuantize(int" + codec.bits() + ")";
    }
}
