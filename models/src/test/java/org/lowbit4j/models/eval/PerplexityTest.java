package org.lowbit4j.models.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.lowbit4j.datasets.SharedData;
import org.lowbit4j.autograd.GradMode;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.Llama2cFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class PerplexityTest {
    /**
     * The fp32 perplexity of stories260K on tinystories_sample.txt equals a float64 recomputation:
     * the model loaded in DOUBLE, one chunk at a time, chunk boundaries computed here independently.
     */
    @Test
    void fp32PerplexityMatchesFloat64Recomputation() throws Exception {
        Path modelFile = SharedData.file("models/stories260K.bin");
        Llama f32 = Llama2cFormat.read(modelFile, DataType.FLOAT);
        Tokenizer tok = Tokenizer.load(SharedData.file("models/tok512.bin"), f32.config().vocabSize());
        String text = Files.readString(SharedData.file("text/tinystories_sample.txt"), StandardCharsets.UTF_8);
        int[] tokens = tok.encode(text, true, false);
        int seq = 256;

        Perplexity.Result r = Perplexity.evaluate(f32, tokens, seq);

        Llama f64 = Llama2cFormat.read(modelFile, DataType.DOUBLE);
        double nll = 0;
        long predicted = 0;
        int chunks = 0;
        try (var _ = GradMode.noGrad()) {
            for (int s = 0; s < tokens.length - 1; s += seq) {
                int end = Math.min(s + seq, tokens.length - 1); // last input position is end - 1
                int len = end - s;
                int[] in = new int[len];
                System.arraycopy(tokens, s, in, 0, len);
                INDArray logits = f64.forward(Nd4j.createFromArray(in).reshape(1, len)).value(); // [1, len, V]
                for (int t = 0; t < len; t++) {
                    double[] row = logits.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                            org.nd4j.linalg.indexing.NDArrayIndex.point(t),
                            org.nd4j.linalg.indexing.NDArrayIndex.all()).toDoubleVector();
                    double max = Double.NEGATIVE_INFINITY;
                    for (double v : row) {
                        max = Math.max(max, v);
                    }
                    double sum = 0;
                    for (double v : row) {
                        sum += Math.exp(v - max);
                    }
                    nll += max + Math.log(sum) - row[tokens[s + t + 1]];
                }
                predicted += len;
                chunks++;
            }
        }
        double ppl64 = Math.exp(nll / predicted);
        System.out.printf("stories260K on tinystories_sample.txt: %d tokens, %d chunks, ppl fp32 %.6f, float64 %.6f%n",
                r.tokens(), r.chunks(), r.perplexity(), ppl64);
        assertEquals(tokens.length - 1, r.tokens(), "every token after the first is predicted once");
        assertEquals(chunks, r.chunks());
        assertEquals(ppl64, r.perplexity(), 1e-4 * ppl64, "fp32 vs float64 perplexity");
        assertTrue(r.perplexity() > 1 && r.perplexity() < 50, "a trained model on its own domain: " + r.perplexity());
    }

    @Test
    void chunkingFollowsTheProtocol() throws Exception {
        Llama llama = Llama2cFormat.read(SharedData.file("models/stories260K.bin"), DataType.FLOAT);
        int[] tokens = new int[22]; // 21 predicted tokens: chunks of 8, 8, 5
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = i == 0 ? 1 : 100 + i;
        }
        Perplexity.Result r = Perplexity.evaluate(llama, tokens, 8, 1);
        assertEquals(21, r.tokens());
        assertEquals(3, r.chunks());
        // Batching full chunks together gives the same sums (same per-row arithmetic).
        Perplexity.Result batched = Perplexity.evaluate(llama, tokens, 8, 8);
        assertEquals(r.nll(), batched.nll(), 1e-9 * Math.abs(r.nll()));
        // Exactly seq + 1 tokens: one chunk of seq predictions.
        assertEquals(1, Perplexity.evaluate(llama, java.util.Arrays.copyOf(tokens, 9), 8).chunks());
    }

    @Test
    void rejectsBadInput() throws Exception {
        Llama llama = Llama2cFormat.read(SharedData.file("models/stories260K.bin"), DataType.FLOAT);
        assertThrows(IllegalArgumentException.class, () -> Perplexity.evaluate(llama, new int[] {1}, 8));
        assertThrows(IllegalArgumentException.class, () -> Perplexity.evaluate(llama, new int[] {1, 2}, 0));
        var e = assertThrows(IllegalArgumentException.class, () -> Perplexity.evaluate(llama, new int[] {1, 512}, 8));
        assertTrue(e.getMessage().contains("512"), e.getMessage());
    }
}
