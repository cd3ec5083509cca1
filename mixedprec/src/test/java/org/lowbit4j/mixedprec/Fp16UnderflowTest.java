package org.lowbit4j.mixedprec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamWConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The reason FP16 needs loss scaling: a model whose output gradients lie below FP16's smallest subnormal (2^-24,
 * about 6e-8) gets all-zero gradients in FP16, and trains only when the loss is scaled.
 */
class Fp16UnderflowTest {
    /** Mean squared error over 64 x 64 outputs times 1e-4: output gradients around 5e-8 * |error|. */
    private static double train(LossScaler scaler, int steps, double[] outMaxAbsGrad) {
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 32).subi(0.5);
        INDArray target = Nd4j.rand(DataType.FLOAT, 64, 64).subi(0.5);
        Tensor w = Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 64, 32)).named("w");
        // AdamW is invariant to the gradient's scale, so any nonzero gradient trains at full speed:
        // the only way to stall is a gradient that is exactly zero.
        AdamW opt = new AdamW(List.of(w), AdamWConfig.DEFAULTS.withLr(1e-2).withWeightDecay(0));
        HalfPrecisionPolicy fp16 = HalfPrecisionPolicy.of(HalfFormat.FP16);
        double first = Double.NaN;
        double last = Double.NaN;
        for (int step = 0; step < steps; step++) {
            Tensor loss;
            try (var ac = Autocast.enable(fp16)) {
                Tensor d = F.sub(F.linear(Tensor.constant(x), w), Tensor.constant(target)); // [64, 64]
                loss = F.scale(F.mean(F.mul(d, d), false), 1e-4);
            }
            last = loss.value().getDouble(0);
            if (step == 0) {
                first = last;
            }
            (scaler == null ? loss : scaler.scale(loss)).backward();
            boolean finite = scaler == null || scaler.unscale(List.of(w));
            outMaxAbsGrad[0] = Math.max(outMaxAbsGrad[0], w.grad().amaxNumber().doubleValue());
            if (finite) {
                opt.step();
            }
            if (scaler != null) {
                scaler.update(finite);
            }
            opt.zeroGrad();
        }
        return last / first;
    }

    @Test
    void trainsWithTheDynamicScalerAndStallsWithoutIt() {
        double[] gradNoScaler = {0};
        double ratioNoScaler = train(null, 30, gradNoScaler);
        double[] gradScaler = {0};
        double ratioScaler = train(new LossScaler(LossScalerConfig.dynamicDefaults()), 30, gradScaler);
        assertEquals(0.0, gradNoScaler[0], "without scaling every FP16 gradient underflows to zero");
        assertEquals(1.0, ratioNoScaler, 1e-12, "without scaling the loss does not move");
        assertTrue(gradScaler[0] > 0, "with scaling the gradients survive");
        assertTrue(ratioScaler < 0.7, "with scaling the loss falls: ratio " + ratioScaler);
    }
}
