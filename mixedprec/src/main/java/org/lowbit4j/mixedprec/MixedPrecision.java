package org.lowbit4j.mixedprec;

import java.util.List;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.mixedprec.fp8.Fp8Policy;
import org.lowbit4j.mixedprec.fp8.Fp8Recipe;
import org.lowbit4j.nn.Module;
import org.lowbit4j.optim.GradClip;
import org.lowbit4j.optim.Optimizer;

/**
 * Turns a {@link Precision} into what a training loop needs: the autocast policy its forward runs under, and the
 * loss scaler (FP16 only).
 *
 * <pre>{@code
 * Autocast.Policy policy = MixedPrecision.policy(Precision.FP16, model, Fp8Recipe.defaults());
 * LossScaler scaler = MixedPrecision.defaultScaler(Precision.FP16);   // null unless FP16
 * try (var ac = Autocast.enable(policy)) { loss = model.loss(inputs, targets, -100); }
 * }</pre>
 */
public final class MixedPrecision {
    private MixedPrecision() {
    }

    /**
     * @param precision the mode
     * @param model the model whose linears are trained (FP8 names its per-weight scaling state after the model's
     *     parameters); unused for the other modes
     * @param fp8 the FP8 recipe (used only for {@link Precision#FP8})
     * @return the policy: {@link Fp32Policy}, {@link HalfPrecisionPolicy} (BF16, FP16), or an {@link Fp8Policy}
     *     whose non-linear products (attention, matmul) run in BF16, as Transformer Engine's default
     */
    public static Autocast.Policy policy(Precision precision, Module model, Fp8Recipe fp8) {
        return switch (precision) {
            case FP32 -> new Fp32Policy();
            case BF16 -> HalfPrecisionPolicy.of(HalfFormat.BF16);
            case FP16 -> HalfPrecisionPolicy.of(HalfFormat.FP16);
            case FP8 -> Fp8Policy.forModel(model, fp8, HalfPrecisionPolicy.of(HalfFormat.BF16));
        };
    }

    /**
     * The unscale-clip-step phase of a training step: divides the gradients by the loss scale (when there is a
     * scaler), clips them to {@code maxNorm}, and steps the optimizer, unless a gradient is inf/NaN, in which case
     * nothing moves and the scaler counts (and logs) a skipped step.
     *
     * @param scaler the loss scaler, or null for unscaled training
     * @param opt the optimizer; its parameters carry the gradients of {@code scaler.scale(loss).backward()}
     * @param maxNorm the global gradient-norm bound ({@link GradClip#clipGradNorm})
     * @return the gradient norm before clipping, or NaN for a skipped step
     */
    public static double unscaleClipStep(LossScaler scaler, Optimizer opt, double maxNorm) {
        List<Tensor> params = opt.parameters();
        boolean finite = scaler == null || scaler.unscale(params);
        double norm = Double.NaN;
        if (finite) {
            norm = GradClip.clipGradNorm(params, maxNorm);
            opt.step();
        }
        if (scaler != null) {
            scaler.update(finite);
        }
        return norm;
    }

    /**
     * @return a dynamic scaler with PyTorch's defaults for FP16, null for the modes that need none (fp32, BF16 with
     *     fp32's exponent range, FP8 whose gradients have their own per-tensor scales)
     */
    public static LossScaler defaultScaler(Precision precision) {
        return precision == Precision.FP16 ? new LossScaler(LossScalerConfig.dynamicDefaults()) : null;
    }
}
