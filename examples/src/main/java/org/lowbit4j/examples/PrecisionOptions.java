package org.lowbit4j.examples;

import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.mixedprec.LossScaler;
import org.lowbit4j.mixedprec.LossScalerConfig;
import org.lowbit4j.mixedprec.MixedPrecision;
import org.lowbit4j.mixedprec.Precision;
import org.lowbit4j.mixedprec.fp8.Fp8Format;
import org.lowbit4j.mixedprec.fp8.Fp8Recipe;
import org.lowbit4j.nn.Module;
import picocli.CommandLine.Option;

/** The mixed-precision options of {@code pretrain} and {@code finetune} (a picocli mixin). */
final class PrecisionOptions {
    @Option(names = "--precision", defaultValue = "fp32",
            description = "fp32 | bf16 | fp16 | fp8: format of the linears and attention products (master weights stay fp32)")
    Precision precision;

    @Option(names = "--loss-scale", defaultValue = "auto",
            description = "auto (dynamic for fp16, none otherwise) | dynamic | none | a fixed scale such as 1024")
    String lossScale;

    @Option(names = "--loss-scale-init", defaultValue = "65536", description = "initial dynamic loss scale")
    double lossScaleInit;

    @Option(names = "--loss-scale-growth-interval", defaultValue = "2000",
            description = "clean steps before the dynamic scale doubles")
    int lossScaleGrowthInterval;

    @Option(names = "--fp8-format", defaultValue = "hybrid", description = "hybrid (E4M3 forward, E5M2 gradients) | e4m3")
    Fp8Format fp8Format;

    @Option(names = "--fp8-scaling", defaultValue = "delayed", description = "delayed (amax history) | current (just in time)")
    Fp8Recipe.Scaling fp8Scaling;

    @Option(names = "--fp8-amax-history", defaultValue = "1024", description = "amax history length per tensor")
    int fp8AmaxHistory;

    @Option(names = "--fp8-amax-compute", defaultValue = "max", description = "max | most_recent")
    Fp8Recipe.AmaxCompute fp8AmaxCompute;

    @Option(names = "--fp8-margin", defaultValue = "0", description = "scale = FP8_MAX / amax / 2^margin")
    int fp8Margin;

    @Option(names = "--fp8-pow2-scale", description = "round FP8 scales down to powers of two")
    boolean fp8Pow2Scale;

    /** @return the FP8 recipe the options describe */
    Fp8Recipe fp8Recipe() {
        return new Fp8Recipe(fp8Format, fp8AmaxHistory, fp8AmaxCompute, fp8Margin, fp8Pow2Scale, fp8Scaling);
    }

    /** @return the autocast policy of the training forward (fp32: the identity policy) */
    Autocast.Policy policy(Module model) {
        return MixedPrecision.policy(precision, model, fp8Recipe());
    }

    /**
     * @return the loss scaler, or null when the run uses none
     * @throws IllegalArgumentException for an unreadable --loss-scale
     */
    LossScaler scaler() {
        String s = lossScale.trim().toLowerCase(java.util.Locale.ROOT);
        return switch (s) {
            case "auto" -> precision == Precision.FP16 ? dynamic() : null;
            case "dynamic" -> dynamic();
            case "none" -> null;
            default -> {
                try {
                    yield new LossScaler(LossScalerConfig.fixed(Double.parseDouble(s)));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--loss-scale: expected auto, dynamic, none or a number, got '"
                            + lossScale + "'");
                }
            }
        };
    }

    private LossScaler dynamic() {
        LossScalerConfig d = LossScalerConfig.dynamicDefaults();
        return new LossScaler(new LossScalerConfig(true, lossScaleInit, d.growthFactor(), d.backoffFactor(),
                lossScaleGrowthInterval));
    }
}
