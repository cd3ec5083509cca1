package org.lowbit4j.autograd;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Checks hand-written gradients against central finite differences, for tests of any module.
 *
 * <p>The loss is L = sum(out * R) with R a fixed random projection of the output's shape, so that
 * every output element matters. The analytic gradient comes from {@code out.backward(R)}; the
 * numeric one from (L(p + eps) - L(p - eps)) / (2 eps) for every element p of every parameter.
 * The error per element is
 * <pre>  |analytic - numeric| / max(|analytic| + |numeric|, 0.01)</pre>
 * i.e. relative for gradients above 0.01 and absolute (scaled by 100) below: central differences
 * carry an absolute round-off of about 1e-16 |L| / eps (1e-10 |L| at eps = 1e-6; the engine's own
 * checks observe at most 1e-9), so a purely relative test would flag noise on near-zero gradients,
 * while a wrong gradient gives errors of the gradient's own size. Keep the loss small (few output
 * elements, values of order 1) so that the round-off stays below the tolerance.
 *
 * <p>Set the system property {@code lowbit4j.gradcheck.verbose=true} to print every result.
 *
 * <p>Parameters must be DOUBLE tensors requiring gradients; the check perturbs their values in
 * place and restores them exactly.
 *
 * <pre>{@code
 * Tensor x = Tensor.parameter(Nd4j.rand(DataType.DOUBLE, 3, 4));
 * GradientCheck.assertGradients("sigmoid", () -> F.sigmoid(x), x);
 * }</pre>
 */
public final class GradientCheck {
    /** Default finite-difference step. */
    public static final double EPS = 1e-6;
    /** Default tolerance on the error defined above. */
    public static final double TOLERANCE = 1e-6;
    /** Below this gradient size the error is absolute (see the class comment). */
    public static final double FLOOR = 1e-2;

    private GradientCheck() {
    }

    /**
     * The worst element found.
     *
     * @param op the name given to the check
     * @param maxError the largest error (see the class comment)
     * @param param index of the parameter holding the worst element
     * @param index flat (C-order) index of that element
     * @param analytic the analytic gradient there
     * @param numeric the finite-difference gradient there
     * @param maxAbsDiff the largest |analytic - numeric| over all elements (wherever it occurs)
     */
    public record Result(String op, double maxError, int param, long index, double analytic, double numeric,
            double maxAbsDiff) {
        @Override
        public String toString() {
            return op + ": max error " + maxError + " at parameter " + param + " flat index " + index
                    + " (analytic " + analytic + ", numeric " + numeric + "); max |analytic - numeric| " + maxAbsDiff;
        }
    }

    /**
     * Runs the check with {@link #EPS} and {@link #TOLERANCE}.
     *
     * @param op a name for the failure message
     * @param f builds the output from the parameters (called many times; must be deterministic)
     * @param params DOUBLE parameters to check
     * @return the worst element
     * @throws AssertionError naming op, parameter, index, analytic and numeric values if the error
     *     exceeds the tolerance, or if an output or gradient is not finite
     */
    public static Result assertGradients(String op, Supplier<Tensor> f, Tensor... params) {
        return assertGradients(op, EPS, TOLERANCE, 42L, f, params);
    }

    /**
     * @param eps finite-difference step
     * @param tolerance largest accepted error
     * @param seed seed of the random projection R
     * @see #assertGradients(String, Supplier, Tensor...)
     */
    public static Result assertGradients(String op, double eps, double tolerance, long seed, Supplier<Tensor> f,
            Tensor... params) {
        Result r = check(op, eps, seed, f, params);
        if (!(r.maxError() <= tolerance)) {
            throw new AssertionError("gradient check failed (tolerance " + tolerance + "): " + r);
        }
        return r;
    }

    /**
     * Computes the worst error without asserting on it.
     *
     * @throws IllegalArgumentException if a parameter is not a DOUBLE tensor requiring gradients
     * @throws AssertionError if the analytic gradient is missing for a parameter or not finite
     */
    public static Result check(String op, double eps, long seed, Supplier<Tensor> f, Tensor... params) {
        for (int i = 0; i < params.length; i++) {
            Tensor p = params[i];
            if (!p.requiresGrad() || p.dataType() != DataType.DOUBLE) {
                throw new IllegalArgumentException(op + ": parameter " + i + " must be a DOUBLE tensor requiring"
                        + " gradients, got " + p);
            }
            p.zeroGrad();
        }
        Tensor out = f.get();
        INDArray proj = projection(out.shape(), seed);
        if (out.requiresGrad()) {
            out.backward(proj.dup());
        }
        INDArray[] analytic = new INDArray[params.length];
        for (int i = 0; i < params.length; i++) {
            INDArray g = params[i].grad();
            analytic[i] = g == null ? Nd4j.zeros(DataType.DOUBLE, params[i].shape()) : g.dup('c');
            params[i].zeroGrad();
        }
        Result worst = new Result(op, 0.0, -1, -1, 0.0, 0.0, 0.0);
        double maxAbs = 0;
        for (int i = 0; i < params.length; i++) {
            INDArray v = params[i].value();
            long n = v.length();
            for (long j = 0; j < n; j++) {
                long[] idx = unravel(j, v.shape());
                double orig = v.getDouble(idx);
                v.putScalar(idx, orig + eps);
                double plus = loss(f, proj);
                v.putScalar(idx, orig - eps);
                double minus = loss(f, proj);
                v.putScalar(idx, orig);
                double numeric = (plus - minus) / (2 * eps);
                double a = analytic[i].getDouble(idx);
                double err = Math.abs(a - numeric) / Math.max(Math.abs(a) + Math.abs(numeric), FLOOR);
                if (!Double.isFinite(a) || !Double.isFinite(numeric)) {
                    throw new AssertionError(op + ": non-finite gradient at parameter " + i + " flat index " + j
                            + " (analytic " + a + ", numeric " + numeric + ")");
                }
                maxAbs = Math.max(maxAbs, Math.abs(a - numeric));
                if (err > worst.maxError() || worst.param() < 0) {
                    worst = new Result(op, err, i, j, a, numeric, 0.0);
                }
            }
        }
        worst = new Result(op, worst.maxError(), worst.param(), worst.index(), worst.analytic(), worst.numeric(), maxAbs);
        if (Boolean.getBoolean("lowbit4j.gradcheck.verbose")) {
            System.out.println("GradientCheck " + worst);
        }
        return worst;
    }

    private static double loss(Supplier<Tensor> f, INDArray proj) {
        try (var _ = GradMode.noGrad()) {
            INDArray out = f.get().value();
            if (!Arrays.equals(out.shape(), proj.shape())) {
                throw new AssertionError("output shape changed between calls: " + Arrays.toString(out.shape())
                        + " vs " + Arrays.toString(proj.shape()));
            }
            return out.castTo(DataType.DOUBLE).mul(proj).sumNumber().doubleValue();
        }
    }

    private static INDArray projection(long[] shape, long seed) {
        Random rnd = new Random(seed);
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        double[] r = new double[(int) n];
        for (int i = 0; i < r.length; i++) {
            r[i] = rnd.nextDouble() * 2 - 1;
        }
        return Nd4j.createFromArray(r).reshape(shape);
    }

    private static long[] unravel(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }
}
