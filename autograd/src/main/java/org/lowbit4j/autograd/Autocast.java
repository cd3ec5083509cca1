package org.lowbit4j.autograd;

import java.util.function.Supplier;

/**
 * Low-precision dispatch for the matrix products, per thread (the engine's counterpart of
 * {@code torch.autocast}). Inside an {@link #enable} scope, {@link F#linear}, {@link F#matmul},
 * {@link F#causalAttention} and {@link F#linearCrossEntropy} hand their operands to the scope's {@link Policy}, which decides the
 * number format they run in; every other operation (norms, softmax, loss, reductions, elementwise)
 * never consults the policy and stays in the tensors' own precision (fp32).
 *
 * <pre>{@code
 * try (var scope = Autocast.enable(policy)) {
 *     Tensor loss = model.loss(inputs, targets, -100);   // linears and attention in the policy's format
 * }
 * }</pre>
 *
 * <p>The engine knows only this interface; the policies themselves (BF16, FP16, FP8) live in the
 * {@code mixedprec} module.
 */
public final class Autocast {
    private static final ThreadLocal<Policy> CURRENT = new ThreadLocal<>();

    private Autocast() {
    }

    /**
     * How the matrix products run. A policy method is called with autocast suspended, so the
     * {@link F} calls it makes inside compute in plain fp32 (no recursion).
     */
    public interface Policy {
        /**
         * @param x [..., in]
         * @param w [out, in]
         * @return x W^T [..., out]
         */
        Tensor linear(Tensor x, Tensor w);

        /**
         * @param a [..., M, N]
         * @param b [..., N, P]
         * @return [..., M, P]
         */
        Tensor matmul(Tensor a, Tensor b);

        /**
         * @param q [B, T, H, D]
         * @param k [B, T, K, D]
         * @param v [B, T, K, D]
         * @return [B, T, H, D] as {@link F#causalAttention}
         */
        Tensor causalAttention(Tensor q, Tensor k, Tensor v);

        /**
         * A classifier and its mean cross-entropy ({@link F#linearCrossEntropy}). The default runs the
         * policy's {@link #linear} and then the fp32 {@link F#crossEntropy}; a policy may fuse them.
         *
         * @param x [..., C]
         * @param w [V, C]
         * @param targets integer array of x's leading shape
         * @param ignoreIndex target value that contributes nothing
         * @return the scalar loss
         */
        default Tensor linearCrossEntropy(Tensor x, Tensor w, org.nd4j.linalg.api.ndarray.INDArray targets,
                int ignoreIndex) {
            return F.crossEntropy(linear(x, w), targets, ignoreIndex);
        }

        /**
         * Rounds an activation to the policy's working format, for layers that run their own fused
         * products (e.g. LoRA over a frozen base) and so cannot go through {@link #linear}.
         *
         * @param x any shape
         * @return x in the working format (x itself in fp32)
         */
        Tensor castActivation(Tensor x);
    }

    /**
     * Opens a scope in which the matrix products follow {@code policy}. Scopes nest; closing restores
     * the outer policy.
     *
     * @return the scope; close it (try-with-resources) on the same thread
     * @throws NullPointerException if policy is null
     */
    public static Scope enable(Policy policy) {
        java.util.Objects.requireNonNull(policy, "policy");
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(policy);
        return s;
    }

    /** @return the policy of the innermost open scope on this thread, or null (plain fp32) */
    public static Policy current() {
        return CURRENT.get();
    }

    /**
     * Runs a policy method with autocast suspended, so that the F calls it makes are plain.
     *
     * @return what {@code call} returns
     */
    static Tensor dispatch(Policy policy, Supplier<Tensor> call) {
        CURRENT.set(null);
        try {
            return call.get();
        } finally {
            CURRENT.set(policy);
        }
    }

    /**
     * @param x any tensor
     * @return x rounded by the current policy's {@link Policy#castActivation}, or x itself outside
     *     autocast
     */
    public static Tensor castActivation(Tensor x) {
        Policy p = CURRENT.get();
        return p == null ? x : dispatch(p, () -> p.castActivation(x));
    }

    /** An autocast scope; {@link #close()} restores the outer policy. */
    public static final class Scope implements AutoCloseable {
        private final Policy outer;
        private boolean closed;

        private Scope(Policy outer) {
            this.outer = outer;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                CURRENT.set(outer);
            }
        }
    }
}
