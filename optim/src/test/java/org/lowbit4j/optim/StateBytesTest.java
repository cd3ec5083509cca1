package org.lowbit4j.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** State memory on the stories15M shape (dim 288, hidden 768, 6 layers, vocab 32000): 15.2M parameters. */
class StateBytesTest {
    static List<Tensor> stories15M() {
        List<Tensor> ps = new ArrayList<>();
        ps.add(Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 32000, 288)).named("tok_embeddings"));
        for (int l = 0; l < 6; l++) {
            String b = "layers." + l + ".";
            ps.add(Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 288)).named(b + "attention_norm"));
            for (String w : new String[] {"wq", "wk", "wv", "wo"}) {
                ps.add(Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 288, 288)).named(b + w));
            }
            ps.add(Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 288)).named(b + "ffn_norm"));
            ps.add(Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 768, 288)).named(b + "w1"));
            ps.add(Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 288, 768)).named(b + "w2"));
            ps.add(Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 768, 288)).named(b + "w3"));
        }
        ps.add(Tensor.parameter(Nd4j.zeros(DataType.FLOAT, 288)).named("norm"));
        return ps;
    }

    @Test
    void bytesPerParameterOnTheStories15MShape() {
        List<Tensor> ps = stories15M();
        long params = ps.stream().mapToLong(p -> p.value().length()).sum();
        assertEquals(15_191_712L, params);
        var cfg = AdamWConfig.DEFAULTS;
        double fp32 = (double) new AdamW(ps, cfg).stateBytes() / params;
        double q8 = (double) new AdamW8bit(ps, cfg).stateBytes() / params;
        double q4 = (double) new AdamW4bit(ps, cfg).stateBytes() / params;
        assertEquals(8.0, fp32, 1e-4);
        assertTrue(q8 <= 2.05 && q8 > 2.0, "8-bit: " + q8 + " bytes/param");
        assertTrue(q4 <= 1.05 && q4 > 1.0, "4-bit: " + q4 + " bytes/param");
        // Keeping the embedding in fp32 (StableEmbedding-style) costs 8 bytes for each of its 9.2M values.
        var stable = new AdamW8bit(ps, cfg, QuantConfig.DEFAULTS.withFp32State("tok_embeddings"), UpdateOptions.DEFAULTS);
        assertEquals("fp32", stable.stateFormat(0));
        assertEquals("block8", stable.stateFormat(2));
        assertEquals("fp32", stable.stateFormat(1));
        assertTrue(stable.stateBytes() > 8L * 32000 * 288);
        System.out.printf("stories15M state bytes/param: fp32 %.4f, 8-bit %.4f, 4-bit %.4f%n", fp32, q8, q4);
    }
}
