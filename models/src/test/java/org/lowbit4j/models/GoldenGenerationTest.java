package org.lowbit4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lowbit4j.datasets.Tokenizer;
import org.nd4j.linalg.api.buffer.DataType;

/** Greedy generation reproduces llama2.c run.c's output on stories260K byte for byte. */
class GoldenGenerationTest {
    private static Llama model;
    private static Tokenizer tokenizer;
    private static JsonNode golden;

    @BeforeAll
    static void load() throws Exception {
        model = Llama2cFormat.read(TestData.model(), DataType.FLOAT);
        tokenizer = Tokenizer.load(TestData.tokenizer(), model.config().vocabSize());
        golden = TestData.golden();
    }

    private static int[] ints(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    @Test
    void greedyGenerationMatchesRunCTokensAndText() throws Exception {
        assertEquals(4, golden.size(), "golden file holds four prompts");
        var session = new InferenceSession(model);
        var generator = new Generator(session, tokenizer, Sampler.greedy(model.config().vocabSize()));
        for (JsonNode g : golden) {
            String prompt = g.get("prompt").asText();
            var out = new ByteArrayOutputStream();
            Generator.Generation gen = generator.generate(prompt, g.get("steps").asInt(), out);
            assertEquals(g.get("prompt_tokens_with_bos").size(), gen.promptTokens(), prompt);
            assertArrayEquals(ints(g.get("tokens_after_bos")), gen.tokensAfterBos(), "tokens for '" + prompt + "'");
            // run.c prints every piece, then one final newline; the golden text is what it printed before that.
            assertEquals(g.get("text").asText() + "\n", out.toString(StandardCharsets.UTF_8), "text for '" + prompt + "'");
        }
    }

    @Test
    void vectorKernelGivesTheSameGreedyTokensAndNearlyTheSameLogits() throws Exception {
        var exact = new InferenceSession(model, InferenceSession.Kernel.EXACT);
        var fast = new InferenceSession(model, InferenceSession.Kernel.VECTOR);
        var generator = new Generator(fast, tokenizer, Sampler.greedy(model.config().vocabSize()));
        for (JsonNode g : golden) {
            var out = new ByteArrayOutputStream();
            var gen = generator.generate(g.get("prompt").asText(), g.get("steps").asInt(), out);
            assertArrayEquals(ints(g.get("tokens_after_bos")), gen.tokensAfterBos(), g.get("prompt").asText());
            assertEquals(g.get("text").asText() + "\n", out.toString(StandardCharsets.UTF_8));
            // replay the sequence through both kernels and compare every logit
            int token = 1;
            double worst = 0;
            int[] seq = gen.tokensAfterBos();
            for (int pos = 0; pos < seq.length; pos++) {
                float[] a = exact.forward(token, pos).clone();
                float[] b = fast.forward(token, pos);
                for (int v = 0; v < a.length; v++) {
                    worst = Math.max(worst, Math.abs(a[v] - b[v]));
                }
                token = seq[pos];
            }
            org.junit.jupiter.api.Assertions.assertTrue(worst < 1e-4, "max logit difference " + worst);
        }
    }

    @Test
    void forcedPromptThenArgmaxMatchesTokensThroughTheSessionApi() throws Exception {
        // The same golden tokens straight from InferenceSession + Sampler, without the tokenizer.
        JsonNode g = golden.get(3);
        int[] prompt = ints(g.get("prompt_tokens_with_bos"));
        int[] expected = ints(g.get("tokens_after_bos"));
        var session = new InferenceSession(model);
        var sampler = Sampler.greedy(model.config().vocabSize());
        int token = prompt[0];
        for (int pos = 0; pos < expected.length; pos++) {
            float[] logits = session.forward(token, pos);
            int next = pos + 1 < prompt.length ? prompt[pos + 1] : sampler.sample(logits);
            assertEquals(expected[pos], next, "token at position " + (pos + 1));
            token = next;
        }
    }

    @Test
    void samplingIsReproducibleFromTheSeed() throws Exception {
        int v = model.config().vocabSize();
        int[] a = new Generator(new InferenceSession(model), tokenizer, new Sampler(v, 1.0f, 0.9f, 42))
                .generate("The cat", 60, new ByteArrayOutputStream()).tokensAfterBos();
        int[] b = new Generator(new InferenceSession(model), tokenizer, new Sampler(v, 1.0f, 0.9f, 42))
                .generate("The cat", 60, new ByteArrayOutputStream()).tokensAfterBos();
        int[] c = new Generator(new InferenceSession(model), tokenizer, new Sampler(v, 1.0f, 0.9f, 43))
                .generate("The cat", 60, new ByteArrayOutputStream()).tokensAfterBos();
        assertArrayEquals(a, b);
        org.junit.jupiter.api.Assertions.assertFalse(java.util.Arrays.equals(a, c), "another seed, another story");
        assertArrayEquals(new int[] {291, 280, 294}, java.util.Arrays.copyOf(a, 3), "prompt tokens are forced");
    }

    @Test
    void stepsAreClampedLikeRunC() {
        assertEquals(512, Generator.clampSteps(0, 512));
        assertEquals(512, Generator.clampSteps(10_000, 512));
        assertEquals(7, Generator.clampSteps(7, 512));
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Generator.clampSteps(-1, 512));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("-1"), e.getMessage());
    }

    @Test
    void shortStepsStopInsideThePromptAndSessionRewinds() throws Exception {
        var generator = new Generator(new InferenceSession(model), tokenizer, Sampler.greedy(512));
        var out = new ByteArrayOutputStream();
        // 3 positions: BOS, 403, 407 run; next tokens 403, 407, 261 are all forced prompt tokens.
        var gen = generator.generate("Once upon a time", 3, out);
        assertArrayEquals(new int[] {403, 407, 261}, gen.tokensAfterBos());
        var full = generator.generate("Once upon a time", 120, new ByteArrayOutputStream());
        assertEquals(120, full.tokensAfterBos().length, "a second call on the same session restarts at position 0");
        assertEquals(432, full.tokensAfterBos()[4]);
    }
}
