package org.lowbit4j.autograd.quant;

import java.util.Arrays;

/**
 * How a group's clipping range {@code [lo, hi]} is chosen from its values (the format then turns it into a
 * scale, see {@link ElementFormat#params}).
 */
public sealed interface ScaleMethod {
    /** The group's minimum and maximum. */
    record MinMax() implements ScaleMethod {
    }

    /**
     * Searches clipping ratios r = 1, 1 - (1 - minRatio)/(candidates - 1), ..., minRatio of the min-max range and
     * keeps the one whose quantize-dequantize has the least squared error over the group (ties keep the larger r).
     *
     * @param candidates number of ratios tried, at least 2 (default 100)
     * @param minRatio smallest ratio, in (0, 1) (default 0.2)
     */
    record Mse(int candidates, double minRatio) implements ScaleMethod {
        /** @throws IllegalArgumentException on fewer than 2 candidates or a ratio outside (0, 1) */
        public Mse {
            if (candidates < 2 || !(minRatio > 0 && minRatio < 1)) {
                throw new IllegalArgumentException("MSE search needs >= 2 candidates and 0 < minRatio < 1, got "
                        + candidates + ", " + minRatio);
            }
        }

        /** The defaults: 100 ratios down to 0.2. */
        public Mse() {
            this(100, 0.2);
        }
    }

    /**
     * Clips at a percentile: {@code hi} is the p-th percentile of the values and {@code lo} the (100 - p)-th
     * (linear interpolation between order statistics), for symmetric formats applied to |x| (so
     * {@code hi = P_p(|x|)}, {@code lo = -hi}).
     *
     * @param percentile p in (50, 100] (e.g. 99.9)
     */
    record Percentile(double percentile) implements ScaleMethod {
        /** @throws IllegalArgumentException on p outside (50, 100] */
        public Percentile {
            if (!(percentile > 50 && percentile <= 100)) {
                throw new IllegalArgumentException("percentile must be in (50, 100], got " + percentile);
            }
        }
    }

    /**
     * Chooses the group parameters.
     *
     * @param format the element format
     * @param v values (a group occupies {@code v[from, to)}; reordered in place by percentile search)
     * @return the parameters
     */
    default ElementFormat.GroupParams choose(ElementFormat format, double[] v, int from, int to) {
        if (!format.usesClippingRange() || to == from) {
            return format.params(0, 0, v, from, to);
        }
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int i = from; i < to; i++) {
            if (!Double.isFinite(v[i])) {
                throw new IllegalArgumentException("cannot calibrate a scale on a non-finite value " + v[i]);
            }
            lo = Math.min(lo, v[i]);
            hi = Math.max(hi, v[i]);
        }
        boolean symmetric = !(format instanceof ElementFormat.Int i
                && i.codec().mode() == org.lowbit4j.autograd.formats.IntCodec.Mode.ASYMMETRIC);
        return switch (this) {
            case MinMax m -> format.params(lo, hi, v, from, to);
            case Mse m -> {
                ElementFormat.GroupParams best = null;
                double bestErr = Double.POSITIVE_INFINITY;
                for (int k = 0; k < m.candidates(); k++) {
                    double r = 1 - (1 - m.minRatio()) * k / (m.candidates() - 1);
                    var p = format.params(lo * r, hi * r, v, from, to);
                    double err = 0;
                    for (int i = from; i < to && err < bestErr; i++) {
                        double d = format.quantizeDequantize(v[i], p) - v[i];
                        err += d * d;
                    }
                    if (err < bestErr) {
                        bestErr = err;
                        best = p;
                    }
                }
                yield best;
            }
            case Percentile p -> {
                double[] s = Arrays.copyOfRange(v, from, to);
                if (symmetric) {
                    for (int i = 0; i < s.length; i++) {
                        s[i] = Math.abs(s[i]);
                    }
                    Arrays.sort(s);
                    double h = quantile(s, p.percentile() / 100);
                    yield format.params(-h, h, v, from, to);
                }
                Arrays.sort(s);
                yield format.params(quantile(s, 1 - p.percentile() / 100), quantile(s, p.percentile() / 100),
                        v, from, to);
            }
        };
    }

    /** Linear-interpolation quantile q in [0, 1] of sorted values. */
    private static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int i = (int) Math.floor(pos);
        if (i >= sorted.length - 1) {
            return sorted[sorted.length - 1];
        }
        return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
    }
}
