package org.lowbit4j.autograd.formats;

/**
 * A slow, obviously correct round-to-nearest-even encoder for any sign-magnitude float format, built only from
 * the format's decoded non-negative values: pick the nearest value (exact float64 distances), on a tie pick the
 * even code. One virtual code past the largest finite value stands for "rounds out of range".
 */
final class RoundingReference {
    private final double[] values;
    private final int maxCode;

    /**
     * @param finiteValues decoded values of codes 0..maxCode (non-negative, increasing)
     * @param nextValue the value the code after maxCode would have with an unbounded exponent
     */
    RoundingReference(double[] finiteValues, double nextValue) {
        this.maxCode = finiteValues.length - 1;
        this.values = java.util.Arrays.copyOf(finiteValues, finiteValues.length + 1);
        this.values[maxCode + 1] = nextValue;
    }

    /** @return the magnitude code of |x| (0..maxCode), or -1 when it rounds out of range; x must not be NaN */
    int encodeMagnitude(float x) {
        double a = Math.abs((double) x);
        if (a > values[maxCode + 1]) {
            return -1;
        }
        int lo = 0;
        int hi = maxCode + 1;
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (values[mid] <= a) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        int best;
        if (values[lo] == a || lo == maxCode + 1) {
            best = lo;
        } else {
            double dl = a - values[lo];
            double dh = values[lo + 1] - a;
            best = dl < dh ? lo : dh < dl ? lo + 1 : ((lo & 1) == 0 ? lo : lo + 1);
        }
        return best > maxCode ? -1 : best;
    }
}
