package org.lowbit4j.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.lowbit4j.datasets.SharedData;
import picocli.CommandLine;

/** The commands as a user runs them (in-process: same parsing, same output bytes). */
class CommandsTest {
    /** Runs a command, returning its exit code and standard output bytes. */
    record Run(int code, byte[] stdout, String stderr) {
        String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out;
        var out = new ByteArrayOutputStream();
        var err = new java.io.StringWriter();
        try {
            System.setOut(new PrintStream(out, true));
            var cl = Lowbit4j.commandLine();
            cl.setErr(new java.io.PrintWriter(err, true));
            int code = cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
                cmd.getErr().println("lowbit4j " + cmd.getCommandName() + ": " + ex.getMessage());
                return 1;
            }).execute(args);
            System.out.flush();
            return new Run(code, out.toByteArray(), err.toString());
        } finally {
            System.setOut(oldOut);
        }
    }

    @Test
    void generateGreedyReproducesRunCForAllGoldenPrompts() throws Exception {
        JsonNode golden = new ObjectMapper().readTree(SharedData.file("golden/stories260K_greedy.json").toFile());
        assertEquals(4, golden.size());
        for (JsonNode g : golden) {
            Run r = run("generate", "--model", SharedData.file("models/stories260K.bin").toString(),
                    "--tokenizer", SharedData.file("models/tok512.bin").toString(), "--prompt", g.get("prompt").asText(),
                    "--steps", String.valueOf(g.get("steps").asInt()), "--temperature", "0");
            assertEquals(0, r.code(), r.stderr());
            assertArrayEquals((g.get("text").asText() + "\n").getBytes(StandardCharsets.UTF_8), r.stdout(),
                    "prompt '" + g.get("prompt").asText() + "'");
        }
    }

    @Test
    void seededSamplingIsReproducible() {
        String[] args = {"generate", "--model", SharedData.file("models/stories260K.bin").toString(),
            "--tokenizer", SharedData.file("models/tok512.bin").toString(), "--prompt", "Lily", "--steps", "60",
            "--temperature", "0.8", "--top-p", "0.9", "--seed", "7"};
        Run a = run(args);
        Run b = run(args);
        assertEquals(0, a.code(), a.stderr());
        assertArrayEquals(a.stdout(), b.stdout());
        assertTrue(a.out().startsWith("Lily"), a.out());
    }

    @Test
    void evalPrintsOneJsonLineAndQuantizationCostsPerplexity() throws Exception {
        String model = SharedData.file("models/stories260K.bin").toString();
        String tok = SharedData.file("models/tok512.bin").toString();
        String data = SharedData.file("text/tinystories_sample.txt").toString();
        ObjectMapper json = new ObjectMapper();
        Run fp32 = run("eval", "--model", model, "--tokenizer", tok, "--data", data);
        assertEquals(0, fp32.code(), fp32.stderr());
        assertEquals(1, fp32.out().strip().lines().count(), fp32.out());
        JsonNode base = json.readTree(fp32.out());
        double ppl = base.get("perplexity").asDouble();
        assertEquals(1882, base.get("tokens").asLong());
        JsonNode nf4 = json.readTree(run("eval", "--model", model, "--tokenizer", tok, "--data", data,
                "--quantize", "nf4", "--block", "64").out());
        JsonNode int8 = json.readTree(run("eval", "--model", model, "--tokenizer", tok, "--data", data,
                "--quantize", "int8").out());
        JsonNode bf16 = json.readTree(run("eval", "--model", model, "--tokenizer", tok, "--data", data,
                "--quantize", "bf16").out());
        assertEquals(35, nf4.get("quantized_matrices").asInt(), "7 linear weights x 5 layers");
        double pNf4 = nf4.get("perplexity").asDouble();
        double pInt8 = int8.get("perplexity").asDouble();
        double pBf16 = bf16.get("perplexity").asDouble();
        System.out.printf("stories260K ppl: fp32 %.4f, bf16 %.4f, int8 %.4f, nf4 %.4f%n", ppl, pBf16, pInt8, pNf4);
        assertTrue(pNf4 > ppl * 1.01, "4-bit RTN must cost perplexity: " + pNf4 + " vs " + ppl);
        assertTrue(Math.abs(pInt8 - ppl) < 0.01 * ppl, "int8 blocks of 64 are nearly lossless: " + pInt8);
        assertTrue(Math.abs(pBf16 - ppl) < 0.005 * ppl, "bf16 is nearly lossless: " + pBf16);
    }

    @Test
    void badInputGivesAClearErrorNamingTheFile(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path truncated = dir.resolve("truncated.bin");
        byte[] all = Files.readAllBytes(SharedData.file("models/stories260K.bin"));
        Files.write(truncated, java.util.Arrays.copyOf(all, all.length / 2));
        Run r = run("generate", "--model", truncated.toString(), "--tokenizer", SharedData.file("models/tok512.bin").toString(),
                "--prompt", "x", "--temperature", "0");
        assertEquals(1, r.code());
        assertTrue(r.stderr().contains("truncated.bin"), r.stderr());
        Run q = run("eval", "--model", SharedData.file("models/stories260K.bin").toString(), "--tokenizer",
                SharedData.file("models/tok512.bin").toString(), "--data", SharedData.file("text/tinystories_sample.txt").toString(),
                "--quantize", "int3");
        assertEquals(1, q.code());
        assertTrue(q.stderr().contains("int3"), q.stderr());
    }

    @Test
    void pretrainWithPrecisionSavesScalerAndFp8StateAndLogsSkippedSteps(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        String tok = SharedData.file("models/tok512.bin").toString();
        String data = SharedData.file("text/tinystories_sample.txt").toString();
        ObjectMapper json = new ObjectMapper();
        String[] common = {"pretrain", "--tokenizer", tok, "--data", data, "--dim", "32", "--layers", "1", "--heads", "2",
            "--seq", "32", "--batch", "4", "--steps", "16"};
        // FP16 with a dynamic scale of 2^28: the first steps overflow in FP16 and are skipped while the scale backs off
        Path fp16 = dir.resolve("fp16");
        Run r = run(concat(common, "--out", fp16.toString(), "--precision", "fp16", "--loss-scale-init", "268435456"));
        assertEquals(0, r.code(), r.stderr());
        JsonNode result = json.readTree(r.out().strip());
        assertEquals("FP16", result.get("precision").asText());
        long skipped = result.get("skipped_steps").asLong();
        assertTrue(skipped > 0 && skipped < 16, "skipped " + skipped);
        long skippedRows = Files.readAllLines(fp16.resolve("metrics.jsonl")).stream()
                .filter(l -> l.contains("\"skipped\":true")).count();
        assertEquals(skipped, skippedRows, "every skipped step is logged in metrics.jsonl");
        JsonNode scaler = json.readTree(fp16.resolve("loss_scaler.json").toFile());
        assertEquals(skipped, scaler.get("skipped_steps").asLong());
        assertTrue(scaler.get("scale").asDouble() < 268435456.0);
        // FP8 writes every weight's amax history and scale next to the checkpoint
        Path fp8 = dir.resolve("fp8");
        r = run(concat(common, "--out", fp8.toString(), "--precision", "fp8", "--fp8-amax-history", "4"));
        assertEquals(0, r.code(), r.stderr());
        assertTrue(Files.size(fp8.resolve("fp8_state.json")) > 0);
        assertTrue(Double.isFinite(json.readTree(r.out().strip()).get("val_ppl_after").asDouble()));
        // a bad --loss-scale is a clear error
        r = run(concat(common, "--out", dir.resolve("bad").toString(), "--loss-scale", "lots"));
        assertEquals(1, r.code());
        assertTrue(r.stderr().contains("--loss-scale"), r.stderr());
    }

    @Test
    void resumedPretrainEndsWithTheSameModelBytesAsAnUninterruptedRun(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        String tok = SharedData.file("models/tok512.bin").toString();
        String data = SharedData.file("text/tinystories_sample.txt").toString();
        for (String precision : new String[] {"fp16", "fp8"}) {
            String[] common = {"pretrain", "--tokenizer", tok, "--data", data, "--dim", "32", "--layers", "1", "--heads",
                "2", "--seq", "32", "--batch", "4", "--warmup", "2", "--precision", precision, "--fp8-amax-history", "3"};
            Path straight = dir.resolve(precision + "-straight");
            Run r = run(concat(common, "--steps", "8", "--out", straight.toString()));
            assertEquals(0, r.code(), r.stderr());
            Path split = dir.resolve(precision + "-split");
            r = run(concat(common, "--steps", "8", "--stop-after", "4", "--out", split.toString()));
            assertEquals(0, r.code(), r.stderr());
            r = run(concat(common, "--steps", "8", "--out", split.toString(), "--resume", split.toString()));
            assertEquals(0, r.code(), r.stderr());
            assertArrayEquals(Files.readAllBytes(straight.resolve("model.bin")), Files.readAllBytes(split.resolve("model.bin")),
                    precision + ": 4 + 4 resumed steps must equal 8 steps");
            assertEquals(8, Files.readAllLines(split.resolve("metrics.jsonl")).size());
        }
        // resuming with another precision is refused, naming the file
        Path fp16 = dir.resolve("fp16-split");
        Run bad = run("pretrain", "--tokenizer", tok, "--data", data, "--dim", "32", "--layers", "1", "--heads", "2",
                "--seq", "32", "--batch", "4", "--steps", "9", "--out", fp16.toString(), "--resume", fp16.toString());
        assertEquals(1, bad.code());
        assertTrue(bad.stderr().contains("trainer.json") && bad.stderr().contains("loss_scaler"), bad.stderr());
    }

    @Test
    void resumedFinetuneEndsWithTheSameAdapterBytesAsAnUninterruptedRun(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        String[] common = {"finetune", "--model", SharedData.file("models/stories260K.bin").toString(), "--tokenizer",
            SharedData.file("models/tok512.bin").toString(), "--data",
            SharedData.file("text/tinystories_sample.txt").toString(), "--seq", "32", "--batch", "2", "--rank", "2",
            "--optimizer", "adamw8bit", "--precision", "fp16", "--steps", "6"};
        Path straight = dir.resolve("straight");
        Run r = run(concat(common, "--out", straight.toString()));
        assertEquals(0, r.code(), r.stderr());
        Path split = dir.resolve("split");
        r = run(concat(common, "--stop-after", "3", "--out", split.toString()));
        assertEquals(0, r.code(), r.stderr());
        assertEquals(3, new ObjectMapper().readTree(r.out().strip()).get("steps").asInt());
        r = run(concat(common, "--out", split.toString(), "--resume", split.toString()));
        assertEquals(0, r.code(), r.stderr());
        String weights = "adapter/adapter_model.bin";
        assertArrayEquals(Files.readAllBytes(straight.resolve(weights)), Files.readAllBytes(split.resolve(weights)),
                "3 + 3 resumed steps must give the adapter of 6 steps");
        assertArrayEquals(Files.readAllBytes(straight.resolve("loss_scaler.json")),
                Files.readAllBytes(split.resolve("loss_scaler.json")));
        assertEquals(6, Files.readAllLines(split.resolve("metrics.jsonl")).size());
    }

    private static String[] concat(String[] a, String... b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
