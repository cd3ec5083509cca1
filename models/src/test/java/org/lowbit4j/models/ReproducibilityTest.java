package org.lowbit4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The same inputs give the same bits, however warm the JIT is: a loss and its gradients repeated
 * many times in one JVM (the kernels move from the interpreter to C1 to C2 meanwhile) never change.
 * This failed before exponentials and lane sums stopped depending on the JIT tier.
 */
class ReproducibilityTest {
    @Test
    void lossAndGradientsAreBitIdenticalAcrossRepeats() throws Exception {
        Llama m = Llama2cFormat.read(TestData.model(), DataType.FLOAT);
        int b = 2;
        int t = 48;
        int[] tok = new int[b * t];
        var rng = new SplittableRandom(1);
        for (int i = 0; i < tok.length; i++) {
            tok[i] = rng.nextInt(m.config().vocabSize());
        }
        INDArray x = Nd4j.createFromArray(tok).reshape(b, t);
        double firstLoss = 0;
        INDArray firstGrad = null;
        for (int run = 0; run < 12; run++) {
            m.zeroGrad();
            Tensor loss = m.loss(x, x, -100);
            loss.backward();
            INDArray g = m.namedParameters().get("layers.0.attention.wq.weight").grad().dup();
            if (run == 0) {
                firstLoss = loss.value().getDouble(0);
                firstGrad = g;
            } else {
                assertEquals(Double.doubleToLongBits(firstLoss), Double.doubleToLongBits(loss.value().getDouble(0)),
                        "loss differs at repeat " + run);
                assertEquals(0.0, g.sub(firstGrad).amaxNumber().doubleValue(), "gradient differs at repeat " + run);
            }
            System.gc(); // new addresses for the next repeat's buffers
        }
    }
}
