package org.lowbit4j.autograd.quant;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Static scales from a calibration pass over several batches of one tensor shape. Min-max keeps running
 * per-group extremes (exact over all batches); MSE and percentile keep a per-group reservoir sample of at most
 * {@code maxSamplesPerGroup} values (deterministic seed), on which the search runs.
 */
public final class Calibrator {
    private final FakeQuantizer quantizer;
    private final long[] shape;
    private final Granularity.Layout layout;
    private final int maxSamples;
    private final double[][] samples;
    private final int[] filled;
    private final long[] seen;
    private final SplittableRandom random = new SplittableRandom(0x5EEDL);

    /**
     * @param quantizer the fake quantizer whose parameters are calibrated (per-token granularity is rejected: it
     *     is dynamic by nature)
     * @param shape the shape of every observed batch
     * @param maxSamplesPerGroup reservoir size per group (at least 1; for min-max only 2 values are kept)
     * @throws IllegalArgumentException for per-token granularity or a bad sample count
     */
    public Calibrator(FakeQuantizer quantizer, long[] shape, int maxSamplesPerGroup) {
        if (quantizer.granularity() instanceof Granularity.PerToken) {
            throw new IllegalArgumentException("per-token scales are dynamic; calibrate per-tensor or per-channel");
        }
        if (maxSamplesPerGroup < 1) {
            throw new IllegalArgumentException("maxSamplesPerGroup must be >= 1, got " + maxSamplesPerGroup);
        }
        this.quantizer = quantizer;
        this.shape = shape.clone();
        this.layout = quantizer.granularity().layout(shape);
        boolean minMax = quantizer.scaleMethod() instanceof ScaleMethod.MinMax
                && quantizer.format().usesClippingRange();
        this.maxSamples = minMax ? 2 : maxSamplesPerGroup;
        this.samples = new double[layout.groups()][];
        this.filled = new int[layout.groups()];
        this.seen = new long[layout.groups()];
    }

    /**
     * Adds one batch.
     *
     * @param x values of the calibration shape, row-major
     * @throws IllegalArgumentException on a length mismatch or a non-finite value
     */
    public void observe(double[] x) {
        if (x.length != layout.members().length) {
            throw new IllegalArgumentException("calibration batch has " + x.length + " values, shape "
                    + Arrays.toString(shape) + " needs " + layout.members().length);
        }
        boolean minMax = maxSamples == 2 && quantizer.scaleMethod() instanceof ScaleMethod.MinMax;
        for (int g = 0; g < layout.groups(); g++) {
            int from = layout.offsets()[g];
            int to = layout.offsets()[g + 1];
            if (samples[g] == null) {
                samples[g] = new double[Math.min(maxSamples, Math.max(2, to - from))];
            }
            for (int k = from; k < to; k++) {
                double v = x[layout.members()[k]];
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("calibration value " + v + " at element "
                            + layout.members()[k] + " is not finite");
                }
                if (minMax) {
                    if (filled[g] == 0) {
                        samples[g][0] = v;
                        samples[g][1] = v;
                        filled[g] = 2;
                    } else {
                        samples[g][0] = Math.min(samples[g][0], v);
                        samples[g][1] = Math.max(samples[g][1], v);
                    }
                } else if (filled[g] < maxSamples) {
                    if (filled[g] == samples[g].length) {
                        samples[g] = Arrays.copyOf(samples[g], (int) Math.min(maxSamples, 2L * filled[g]));
                    }
                    samples[g][filled[g]++] = v;
                } else {
                    long j = random.nextLong(seen[g] + 1);
                    if (j < maxSamples) {
                        samples[g][(int) j] = v;
                    }
                }
                seen[g]++;
            }
        }
    }

    /**
     * @return the static parameters
     * @throws IllegalStateException if nothing was observed
     */
    public QuantParams finish() {
        var params = new ElementFormat.GroupParams[layout.groups()];
        for (int g = 0; g < params.length; g++) {
            if (seen[g] == 0) {
                throw new IllegalStateException("calibration saw no values for group " + g);
            }
            params[g] = quantizer.scaleMethod().choose(quantizer.format(), samples[g], 0, filled[g]);
        }
        return new QuantParams(params);
    }
}
