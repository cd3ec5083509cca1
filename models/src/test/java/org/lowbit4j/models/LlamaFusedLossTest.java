package org.lowbit4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.nn.Layer;
import org.lowbit4j.nn.Linear;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link Llama#loss} (classifier and cross-entropy fused) against cross-entropy over
 * {@link Llama#forward}'s logits: same loss and gradient bits, separate or shared classifier, and
 * the unfused path when {@code output} has been replaced.
 */
class LlamaFusedLossTest {
    private static final int IGNORE = -100;

    private static INDArray[] batch(int b, int t, int vocab) {
        var rng = new SplittableRandom(3);
        long[] in = new long[b * t];
        long[] tg = new long[b * t];
        for (int i = 0; i < in.length; i++) {
            in[i] = rng.nextInt(vocab);
            tg[i] = i % 5 == 4 ? IGNORE : rng.nextInt(vocab);
        }
        return new INDArray[] {Nd4j.createFromArray(in).reshape(b, t), Nd4j.createFromArray(tg).reshape(b, t)};
    }

    private static void assertFusedEqualsUnfused(boolean shared) {
        var config = new LlamaConfig(16, 40, 2, 4, 2, 37, 12, LlamaConfig.DEFAULT_NORM_EPS,
                LlamaConfig.DEFAULT_ROPE_THETA, shared);
        Llama fused = Llama.random(config, DataType.FLOAT, 5);
        Llama plain = Llama.random(config, DataType.FLOAT, 5);
        INDArray[] xy = batch(3, 12, 37);
        Tensor lf = fused.loss(xy[0], xy[1], IGNORE);
        Tensor lp = F.crossEntropy(plain.forward(xy[0]), xy[1], IGNORE);
        assertEquals("LinearCrossEntropy", lf.creator().name()); // the fused path was taken
        assertEquals(Float.floatToIntBits(lp.value().getFloat(0)), Float.floatToIntBits(lf.value().getFloat(0)));
        lf.backward();
        lp.backward();
        List<Tensor> pf = fused.trainableParameters();
        List<Tensor> pp = plain.trainableParameters();
        for (int i = 0; i < pf.size(); i++) {
            assertArrayEquals(flat(pp.get(i).grad()), flat(pf.get(i).grad()), pf.get(i).name());
        }
    }

    private static float[] flat(INDArray a) {
        return a.dup('c').reshape(a.length()).toFloatVector();
    }

    @Test
    void separateClassifierGivesTheSameBits() {
        assertFusedEqualsUnfused(false);
    }

    @Test
    void sharedClassifierGivesTheSameBits() {
        assertFusedEqualsUnfused(true);
    }

    /** A replaced classifier (here: a Linear that doubles its output) is honoured by loss. */
    @Test
    void replacedClassifierIsUsed() {
        var config = new LlamaConfig(16, 40, 2, 4, 4, 37, 12, LlamaConfig.DEFAULT_NORM_EPS,
                LlamaConfig.DEFAULT_ROPE_THETA, false);
        Llama model = Llama.random(config, DataType.FLOAT, 6);
        INDArray[] xy = batch(2, 12, 37);
        Linear original = (Linear) model.child("output");
        model.replaceChild("output", new Linear(original.weight()) {
            @Override
            public Tensor forward(Tensor x) {
                return F.scale(super.forward(x), 2.0);
            }
        });
        double expected = F.crossEntropy(((Layer) model.child("output")).forward(finalStates(model, xy[0])), xy[1],
                IGNORE).value().getDouble(0);
        Tensor loss = model.loss(xy[0], xy[1], IGNORE);
        assertEquals("CrossEntropy", loss.creator().name());
        assertEquals(expected, loss.value().getDouble(0), 0.0);
    }

    /** The classifier's input, recovered as forward's logits would be computed (norm output). */
    private static Tensor finalStates(Llama model, INDArray tokens) {
        Tensor x = model.tokEmbeddings().forward(tokens);
        for (int i = 0; i < model.layers().size(); i++) {
            x = ((Layer) model.layers().get(i)).forward(x);
        }
        return ((Layer) model.child("norm")).forward(x);
    }
}
