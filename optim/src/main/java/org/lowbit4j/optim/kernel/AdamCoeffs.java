package org.lowbit4j.optim.kernel;

/**
 * The float32 constants of one AdamW step for one parameter, derived in double and rounded once.
 *
 * <p>Per element: {@code m = beta1*m + (1-beta1)*g}, {@code v = beta2*v + (1-beta2)*(g*g)},
 * {@code p = p*decay - stepSize * (m / (sqrt(v)*invSqrtBc2 + eps))}, where {@code decay = 1 - lr*wd}
 * (decoupled weight decay), {@code stepSize = lr / (1 - beta1^t)} and {@code invSqrtBc2 = 1/sqrt(1 - beta2^t)}
 * (bias corrections), as PyTorch's AdamW.
 *
 * @param decay multiplier applied to the parameter before the update
 * @param beta1 first-moment decay
 * @param oneMinusBeta1 {@code 1 - beta1}
 * @param beta2 second-moment decay
 * @param oneMinusBeta2 {@code 1 - beta2}
 * @param stepSize {@code lr / (1 - beta1^t)}
 * @param invSqrtBc2 {@code 1 / sqrt(1 - beta2^t)}
 * @param eps added to the bias-corrected root of the second moment
 */
public record AdamCoeffs(float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float stepSize, float invSqrtBc2, float eps) {

    /**
     * @param lr learning rate
     * @param beta1 first-moment decay in [0, 1)
     * @param beta2 second-moment decay in [0, 1)
     * @param eps denominator guard
     * @param weightDecay decoupled weight decay
     * @param t this step's number for the parameter, from 1
     * @return the constants of step {@code t}
     * @throws IllegalArgumentException if {@code t < 1}
     */
    public static AdamCoeffs of(double lr, double beta1, double beta2, double eps, double weightDecay, long t) {
        if (t < 1) {
            throw new IllegalArgumentException("step number must be >= 1, got " + t);
        }
        double bc1 = 1 - Math.pow(beta1, t);
        double bc2 = 1 - Math.pow(beta2, t);
        return new AdamCoeffs((float) (1 - lr * weightDecay), (float) beta1, (float) (1 - beta1), (float) beta2,
                (float) (1 - beta2), (float) (lr / bc1), (float) (1 / Math.sqrt(bc2)), (float) eps);
    }
}
