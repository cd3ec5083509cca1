package org.lowbit4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.GradMode;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.datasets.SharedData;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.datasets.instruct.EncodedExample;
import org.lowbit4j.datasets.instruct.InstructionDataset;
import org.lowbit4j.datasets.instruct.InstructionReader;
import org.lowbit4j.datasets.instruct.InstructionRecord;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.Llama2cFormat;
import org.lowbit4j.optim.AdamW;
import org.lowbit4j.optim.AdamWConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Instruction fine-tuning with QLoRA: the loss covers response tokens only. */
class InstructionTuningTest {
    private static Llama qlora() throws Exception {
        Llama m = Llama2cFormat.read(SharedData.file("models/stories260K.bin"), DataType.FLOAT);
        LoraInjector.inject(m, LoraConfig.defaults(), BaseFormat.NF4, 11);
        var rng = new java.util.SplittableRandom(3);
        for (var l : LoraAdapters.adapters(m).values()) {
            INDArray b = l.loraB().value();
            for (long i = 0; i < b.length(); i++) {
                b.putScalar(i, 0.02 * (2 * rng.nextDouble() - 1));
            }
        }
        return m;
    }

    @Test
    void lossOnAHandMadeRecordIsTheMeanOverResponsePositionsOnly() throws Exception {
        Tokenizer tok = Tokenizer.load(SharedData.file("models/tok512.bin"), 512);
        var rec = new InstructionRecord("Name a colour.", "", "Blue is a colour.");
        EncodedExample ex = EncodedExample.encode(rec, tok, 256).orElseThrow();
        int p = ex.promptLength();
        int l = ex.length();
        assertTrue(p > 5 && l - p >= 4, "prompt " + p + ", length " + l);
        TokenBatch b = InstructionDataset.of(List.of(ex)).paddedBatches(1, InstructionDataset.DEFAULT_PAD_ID, 1)
                .iterator().next();
        assertEquals(l - 1, b.seqLen());
        assertEquals(l - p, b.targetCount());

        Llama m = qlora();
        double loss;
        INDArray logp;
        try (var s = GradMode.noGrad()) {
            loss = m.loss(b.inputsArray(), b.targetsArray(), TokenBatch.IGNORE_INDEX).value().getDouble(0);
            INDArray logits = m.forward(b.inputsArray()).value().castTo(DataType.DOUBLE); // [1, T, V]
            logp = Nd4j.create(DataType.DOUBLE, logits.shape());
            for (int t = 0; t < l - 1; t++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < 512; v++) {
                    max = Math.max(max, logits.getDouble(0, t, v));
                }
                double sum = 0;
                for (int v = 0; v < 512; v++) {
                    sum += Math.exp(logits.getDouble(0, t, v) - max);
                }
                for (int v = 0; v < 512; v++) {
                    logp.putScalar(new long[] {0, t, v}, logits.getDouble(0, t, v) - max - Math.log(sum));
                }
            }
        }
        // Response tokens sit at positions p..l-1 and are predicted from positions p-1..l-2.
        double response = 0;
        double all = 0;
        for (int t = 0; t < l - 1; t++) {
            double nll = -logp.getDouble(0, t, ex.tokens()[t + 1]);
            all += nll;
            if (t >= p - 1) {
                response += nll;
            }
        }
        response /= l - p;
        all /= l - 1;
        assertEquals(response, loss, 1e-5, "loss must be the mean NLL over response positions");
        assertTrue(Math.abs(all - loss) > 1e-3, "a loss over all positions (" + all + ") should differ from " + loss);
    }

    @Test
    void alpacaDemoTrainsForAFewSteps() throws Exception {
        Tokenizer tok = Tokenizer.load(SharedData.file("models/tok512.bin"), 512);
        var records = InstructionReader.read(SharedData.file("instruct/alpaca_en_demo.json"));
        var ds = InstructionDataset.encode(records, tok, 128);
        Llama m = qlora();
        var params = LoraAdapters.trainableParameters(m);
        INDArray b0 = params.get(1).value().dup();
        var opt = new AdamW(params, AdamWConfig.DEFAULTS.withLr(2e-3).withWeightDecay(0));
        Iterator<TokenBatch> it = ds.paddedBatches(8, InstructionDataset.DEFAULT_PAD_ID, 5).iterator();
        double first = Double.NaN;
        double last = Double.NaN;
        for (int step = 0; step < 6; step++) {
            TokenBatch b = it.next();
            Tensor loss = m.loss(b.inputsArray(), b.targetsArray(), TokenBatch.IGNORE_INDEX);
            loss.backward();
            opt.step();
            opt.zeroGrad();
            last = loss.value().getDouble(0);
            first = step == 0 ? last : first;
            assertTrue(Double.isFinite(last), "loss at step " + step + " is " + last);
            System.gc(); // NOTE: releases the step's native ND4J buffers (see QloraFinetuneTest)
        }
        System.out.printf(java.util.Locale.ROOT, "alpaca QLoRA: %d examples (%d dropped), loss %.4f -> %.4f in 6 steps%n",
                ds.size(), ds.droppedCount(), first, last);
        assertTrue(params.get(1).value().sub(b0).amaxNumber().doubleValue() > 0, "adapters did not move");
    }
}
