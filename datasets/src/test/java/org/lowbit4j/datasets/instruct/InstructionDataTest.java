package org.lowbit4j.datasets.instruct;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lowbit4j.datasets.MalformedDataException;
import org.lowbit4j.datasets.SharedData;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.datasets.instruct.InstructionReader.OnMalformed;

class InstructionDataTest {
    static final int X = TokenBatch.IGNORE_INDEX;
    static Tokenizer tok;

    @BeforeAll
    static void load() throws IOException {
        tok = Tokenizer.load(SharedData.file("models/tok512.bin"), 512);
    }

    // A: BOS 10 11 12 | 20 21 EOS (prompt of 4); B: BOS 30 | 40 EOS (prompt of 2).
    static final EncodedExample A = new EncodedExample(new int[] {1, 10, 11, 12, 20, 21, 2}, 4);
    static final EncodedExample B = new EncodedExample(new int[] {1, 30, 40, 2}, 2);

    @Test
    void promptPositionsAreMaskedExactly() {
        assertArrayEquals(new int[] {X, X, X, 20, 21, 2}, A.shiftedTargets());
        assertArrayEquals(new int[] {X, 40, 2}, B.shiftedTargets());
        assertEquals(3, A.responseLength());
        assertTrue(A.endsWithEos());
        assertThrows(IllegalArgumentException.class, () -> new EncodedExample(new int[] {1, 2}, 2));
        assertThrows(IllegalArgumentException.class, () -> new EncodedExample(new int[] {1, 2}, 0));
    }

    @Test
    void rightPaddedBatches() {
        var ds = InstructionDataset.of(List.of(A, B));
        int[] order = ds.epochOrder(5);
        var batches = new ArrayList<TokenBatch>();
        ds.paddedBatches(2, 7, 5).forEach(batches::add);
        assertEquals(1, batches.size());
        var batch = batches.get(0);
        assertEquals(6, batch.seqLen(), "T = longest L - 1");
        int rowA = order[0] == 0 ? 0 : 1;
        int rowB = 1 - rowA;
        for (int t = 0; t < 6; t++) {
            assertEquals(A.tokens()[t], batch.input(rowA, t));
            assertEquals(A.shiftedTargets()[t], batch.target(rowA, t));
        }
        int[] inB = {1, 30, 40, 7, 7, 7};
        int[] tgB = {X, 40, 2, X, X, X};
        for (int t = 0; t < 6; t++) {
            assertEquals(inB[t], batch.input(rowB, t));
            assertEquals(tgB[t], batch.target(rowB, t));
        }
        assertEquals(5, batch.targetCount());
        // Batch size 1: one example per batch, no padding, epoch covers both.
        var single = new ArrayList<TokenBatch>();
        ds.paddedBatches(1, 0, 5).forEach(single::add);
        assertEquals(2, single.size());
        assertEquals(A.length() - 1 + B.length() - 1, single.get(0).seqLen() + single.get(1).seqLen());
    }

    @Test
    void packedBatchesMaskBoundaries() {
        var ds = InstructionDataset.of(List.of(A, B));
        long seed = IntStream.range(0, 100).filter(s -> ds.epochOrder(s)[0] == 0).findFirst().orElseThrow();
        var batches = new ArrayList<TokenBatch>();
        ds.packedBatches(2, 4, 0, seed).forEach(batches::add);
        // Stream: 1 10 11 12 20 21 2 1 30 40 2 -> windows of 5 tokens, stride 4: 3 windows.
        assertEquals(2, batches.size());
        var b0 = batches.get(0);
        assertArrayEquals(new int[] {1, 10, 11, 12, 20, 21, 2, 1}, b0.inputs());
        // The target after A's EOS is B's BOS: a prompt token, ignored.
        assertArrayEquals(new int[] {X, X, X, 20, 21, 2, X, X}, b0.targets());
        var b1 = batches.get(1);
        assertEquals(1, b1.batchSize());
        assertArrayEquals(new int[] {30, 40, 0, 0}, b1.inputs());
        assertArrayEquals(new int[] {40, 2, X, X}, b1.targets());
    }

    @Test
    void shuffleIsSeeded() {
        var many = new ArrayList<EncodedExample>();
        for (int i = 0; i < 50; i++) {
            many.add(new EncodedExample(new int[] {1, 100 + i, 2}, 2));
        }
        var ds = InstructionDataset.of(many);
        assertArrayEquals(ds.epochOrder(3), ds.epochOrder(3));
        assertFalse(java.util.Arrays.equals(ds.epochOrder(3), ds.epochOrder(4)));
        assertArrayEquals(IntStream.range(0, 50).toArray(), IntStream.of(ds.epochOrder(3)).sorted().toArray());
    }

    @Test
    void encodeUsesTemplateBosPromptThenResponseAndEos() {
        var rec = new InstructionRecord("Tell a story.", "", "Once upon a time");
        String prompt = AlpacaTemplate.prompt(rec);
        assertEquals("Below is an instruction that describes a task. Write a response that appropriately completes "
                + "the request.\n\n### Instruction:\nTell a story.\n\n### Response:\n", prompt);
        int[] p = tok.encode(prompt, true, false);
        int[] r = tok.encode("Once upon a time", false, true, false);
        var e = EncodedExample.encode(rec, tok, 1000).orElseThrow();
        assertEquals(p.length, e.promptLength());
        assertArrayEquals(IntStream.concat(IntStream.of(p), IntStream.of(r)).toArray(), e.tokens());
        assertEquals(prompt + "Once upon a time", tok.decode(e.tokens()));
        int[] labels = e.shiftedTargets();
        for (int t = 0; t < labels.length; t++) {
            assertEquals(t < p.length - 1 ? X : e.tokens()[t + 1], labels[t], "position " + t);
        }
        // Truncation: keep the first maxLength tokens; a prompt that fills it leaves nothing to learn.
        var cut = EncodedExample.encode(rec, tok, p.length + 2).orElseThrow();
        assertEquals(p.length + 2, cut.length());
        assertFalse(cut.endsWithEos());
        assertTrue(EncodedExample.encode(rec, tok, p.length).isEmpty());
        var ds = InstructionDataset.encode(List.of(rec, new InstructionRecord("x", "", "y")), tok, p.length);
        assertEquals(1, ds.size());
        assertEquals(1, ds.droppedCount());

        var withInput = AlpacaTemplate.prompt(new InstructionRecord("Sum.", "1 2", "3"));
        assertTrue(withInput.startsWith(AlpacaTemplate.HEADER_WITH_INPUT));
        assertTrue(withInput.endsWith("### Instruction:\nSum.\n\n### Input:\n1 2\n\n### Response:\n"));
    }

    @Test
    void alpacaDemoLoads() throws IOException {
        var result = InstructionReader.read(SharedData.file("instruct/alpaca_en_demo.json"), OnMalformed.FAIL);
        assertEquals(999, result.records().size());
        assertEquals(0, result.skipped());
        assertTrue(result.records().get(0).instruction().startsWith("Describe a process of making crepes."));
        assertTrue(result.records().stream().anyMatch(InstructionRecord::hasInput));
        var ds = InstructionDataset.encode(result.records(), tok, 256);
        assertEquals(999, ds.size() + ds.droppedCount());
        assertTrue(ds.size() > 900, "most prompts fit in 256 tokens: " + ds.size());
        for (var e : ds.examples()) {
            assertTrue(e.length() <= 256);
        }
        int rows = 0;
        for (var batch : ds.paddedBatches(16, 0, 1)) {
            rows += batch.batchSize();
            assertTrue(batch.seqLen() <= 255);
        }
        assertEquals(ds.size(), rows);
        long learned = 0;
        for (var batch : ds.packedBatches(8, 128, 0, 1)) {
            learned += batch.targetCount();
        }
        assertEquals(ds.learnedTokenCount(), learned, "packing learns every response token exactly once");
    }

    // ------------------------------------------------------------ reader errors

    static Path write(Path dir, String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    static final String GOOD = "{\"instruction\": \"i\", \"input\": \"\", \"output\": \"o\"}";

    @Test
    void jsonlErrorsNameTheLineAndField(@TempDir Path dir) throws IOException {
        var file = write(dir, "bad.jsonl", String.join("\n",
                GOOD,                                            // 1
                "",                                              // 2 (blank: ignored)
                "{\"instruction\": \"i\", \"input\": \"\"}",     // 3 output missing
                "{\"instruction\": 5, \"output\": \"o\"}",       // 4 instruction not a string
                "{\"instruction\": \"i\", \"output\": \"o\"",    // 5 invalid JSON
                "[1, 2]",                                        // 6 not an object
                "{\"instruction\": \"i\", \"input\": null, \"output\": \"o\"}", // 7 ok: input null -> ""
                "{\"instruction\": \"i\", \"input\": [], \"output\": \"o\"}")); // 8 input not a string
        var e = assertThrows(MalformedDataException.class, () -> InstructionReader.read(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("line 3: field \"output\" is missing"), e.getMessage());

        var result = InstructionReader.read(file, OnMalformed.SKIP);
        assertEquals(2, result.records().size());
        assertEquals("", result.records().get(1).input());
        assertEquals(5, result.skipped());
        var p = result.problems();
        assertTrue(p.get(0).startsWith("line 3: field \"output\" is missing"), p.get(0));
        assertTrue(p.get(1).startsWith("line 4: field \"instruction\" is not a string (found NUMBER)"), p.get(1));
        assertTrue(p.get(2).startsWith("line 5: invalid JSON"), p.get(2));
        assertTrue(p.get(3).startsWith("line 6: expected a JSON object, found ARRAY"), p.get(3));
        assertTrue(p.get(4).startsWith("line 8: field \"input\" is not a string"), p.get(4));

        var leading = write(dir, "leading.jsonl", "\n\n" + GOOD + "\n{\"output\": \"o\"}\n");
        e = assertThrows(MalformedDataException.class, () -> InstructionReader.read(leading));
        assertTrue(e.getMessage().contains("line 4: field \"instruction\" is missing"), e.getMessage());
    }

    @Test
    void jsonArrayErrorsNameTheRecord(@TempDir Path dir) throws IOException {
        var file = write(dir, "bad.json", "[\n" + GOOD + ",\n{\"instruction\": \"i\",\n \"output\": true},\n" + GOOD + "\n]\n");
        var e = assertThrows(MalformedDataException.class, () -> InstructionReader.read(file));
        assertTrue(e.getMessage().contains("record 1 (line 3): field \"output\" is not a string (found BOOLEAN)"),
                e.getMessage());
        var result = InstructionReader.read(file, OnMalformed.SKIP);
        assertEquals(2, result.records().size());
        assertEquals(1, result.skipped());

        var syntax = write(dir, "syntax.json", "[\n" + GOOD + ",\n{\"instruction\" \"i\"}\n]");
        e = assertThrows(MalformedDataException.class, () -> InstructionReader.read(syntax, OnMalformed.SKIP));
        assertTrue(e.getMessage().contains("invalid JSON at line 3"), e.getMessage());

        var unclosed = write(dir, "unclosed.json", "[" + GOOD + ",");
        assertThrows(MalformedDataException.class, () -> InstructionReader.read(unclosed));

        var neither = write(dir, "neither.json", "  \"hello\"");
        e = assertThrows(MalformedDataException.class, () -> InstructionReader.read(neither));
        assertTrue(e.getMessage().contains("found '\"'"), e.getMessage());
        var empty = write(dir, "empty.json", " \n ");
        e = assertThrows(MalformedDataException.class, () -> InstructionReader.read(empty));
        assertTrue(e.getMessage().contains("empty file"), e.getMessage());
        var bytes = dir.resolve("latin1.jsonl");
        Files.write(bytes, new byte[] {'{', '"', (byte) 0xE9, '"', ':', '1', '}'});
        e = assertThrows(MalformedDataException.class, () -> InstructionReader.read(bytes));
        assertTrue(e.getMessage().contains("UTF-8"), e.getMessage());
    }
}
