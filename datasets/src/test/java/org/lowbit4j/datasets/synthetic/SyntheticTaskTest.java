package org.lowbit4j.datasets.synthetic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.datasets.instruct.InstructionDataset;

class SyntheticTaskTest {
    static final Pattern LINE = Pattern.compile("(copy|rev|shift): ([a-j]{3,6}) = ([a-k]{3,6})|add: (\\d{1,2})\\+(\\d{1,2}) = (\\d{1,3})");

    @Test
    void generationIsDeterministicPerSeed() {
        var a = SyntheticTask.DEFAULT.generate(SyntheticTask.BASE_TASKS, 200, 11);
        assertEquals(a, SyntheticTask.DEFAULT.generate(SyntheticTask.BASE_TASKS, 200, 11));
        assertNotEquals(a, SyntheticTask.DEFAULT.generate(SyntheticTask.BASE_TASKS, 200, 12));
        assertEquals(200, a.size());
    }

    @Test
    void answersAreCorrect() {
        var all = SyntheticTask.DEFAULT.generate(List.of(TaskKind.values()), 3000, 1);
        var seen = EnumSet.noneOf(TaskKind.class);
        for (var e : all) {
            seen.add(e.kind());
            var m = LINE.matcher(e.line());
            assertTrue(m.matches(), e.line());
            assertTrue(e.line().length() <= 24, e.line());
            switch (e.kind()) {
                case COPY -> assertEquals(m.group(2), m.group(3));
                case REVERSE -> assertEquals(new StringBuilder(m.group(2)).reverse().toString(), m.group(3));
                case SHIFT -> {
                    assertEquals(m.group(2).length(), m.group(3).length());
                    for (int i = 0; i < m.group(2).length(); i++) {
                        assertEquals((m.group(2).charAt(i) - 'a' + 1) % 26, m.group(3).charAt(i) - 'a', e.line());
                    }
                }
                case ADD -> assertEquals(Integer.parseInt(m.group(4)) + Integer.parseInt(m.group(5)),
                        Integer.parseInt(m.group(6)));
            }
            assertEquals(e.line(), e.prompt() + e.answer());
            assertTrue(e.prompt().startsWith(e.kind().tag() + ": "));
        }
        assertEquals(EnumSet.allOf(TaskKind.class), seen);
        assertTrue(SyntheticTask.DEFAULT.generate(SyntheticTask.FINETUNE_TASKS, 50, 2).stream()
                .allMatch(e -> e.kind() == TaskKind.REVERSE));
        assertTrue(SyntheticTask.DEFAULT.generate(SyntheticTask.BASE_TASKS, 500, 2).stream()
                .noneMatch(e -> e.kind() == TaskKind.REVERSE));
        // A known example: "rev: abc = cba" and the corpus format.
        var rev = new SyntheticExample(TaskKind.REVERSE, "rev: abc = ", "cba");
        assertEquals("rev: abc = cba\nrev: abc = cba\n", SyntheticTask.corpus(List.of(rev, rev)));
        assertThrows(IllegalArgumentException.class, () -> new SyntheticExample(TaskKind.COPY, "copy: a", "a"));
        assertThrows(IllegalArgumentException.class, () -> new SyntheticTask(0, 3, 10, 9));
    }

    @Test
    void exactMatch() {
        var e = new SyntheticExample(TaskKind.REVERSE, "rev: abc = ", "cba");
        assertTrue(ExactMatch.matches(e, "cba"));
        assertTrue(ExactMatch.matches(e, "cba\nrev: x"));
        assertFalse(ExactMatch.matches(e, "cb"));
        assertFalse(ExactMatch.matches(e, " cba"));
        assertFalse(ExactMatch.matches(e, "abc\n"));
        var list = SyntheticTask.DEFAULT.generate(SyntheticTask.FINETUNE_TASKS, 40, 3);
        assertEquals(1.0, ExactMatch.evaluate(list, p -> list.stream().filter(x -> x.prompt().equals(p))
                .findFirst().orElseThrow().answer() + "\n").accuracy());
        // Copying instead of reversing is right only for palindromes.
        var copy = ExactMatch.evaluate(list, p -> p.substring(5, p.length() - 3));
        long palindromes = list.stream().filter(x -> x.answer().equals(new StringBuilder(x.answer()).reverse().toString())).count();
        assertEquals(palindromes, copy.correct());
        assertEquals(40, copy.total());
    }

    @Test
    void vocabularyFileWorksWithTheStandardTokenizer(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("synthetic-tok.bin");
        SyntheticVocabulary.write(file);
        var tok = Tokenizer.load(file, SyntheticVocabulary.VOCAB_SIZE);
        assertEquals(300, tok.vocabSize());
        assertEquals("<0x41>", new String(tok.piece(Tokenizer.BYTE_OFFSET + 0x41), StandardCharsets.US_ASCII));
        for (int i = 0; i < SyntheticVocabulary.CHARACTERS.length(); i++) {
            String c = SyntheticVocabulary.CHARACTERS.substring(i, i + 1);
            assertArrayEquals(new int[] {SyntheticVocabulary.FIRST_CHARACTER_ID + i}, tok.encode(c, false, false, false), c);
        }
        var lines = SyntheticTask.DEFAULT.generate(List.of(TaskKind.values()), 100, 4);
        String corpus = SyntheticTask.corpus(lines);
        int[] ids = tok.encode(corpus, true, false);
        assertEquals(2 + corpus.length(), ids.length, "one token per character, plus BOS and the dummy prefix");
        for (int i = 1; i < ids.length; i++) {
            assertTrue(ids[i] >= SyntheticVocabulary.FIRST_CHARACTER_ID, "no byte fallback");
        }
        assertEquals(corpus, tok.decode(ids));
        // What run.c's generate would print for these tokens: the same text.
        assertEquals(corpus, new String(tok.printedBytes(java.util.Arrays.copyOfRange(ids, 1, ids.length)),
                StandardCharsets.UTF_8));
        // Other characters fall back to bytes and still round trip.
        assertEquals("Zoë!", tok.decode(tok.encode("Zoë!", true, true)));
        assertArrayEquals(Files.readAllBytes(file), bytesOf(SyntheticVocabulary.tokenizer(), dir));
    }

    private static byte[] bytesOf(Tokenizer t, Path dir) throws IOException {
        Path p = dir.resolve("again.bin");
        t.save(p);
        return Files.readAllBytes(p);
    }

    @Test
    void encodedExamplesMaskThePromptAndBatch() {
        var tok = SyntheticVocabulary.tokenizer();
        var e = new SyntheticExample(TaskKind.REVERSE, "rev: abc = ", "cba");
        var enc = e.encode(tok);
        assertArrayEquals(tok.encode("rev: abc = ", true, false), java.util.Arrays.copyOf(enc.tokens(), enc.promptLength()));
        assertEquals(1 + 1 + 11, enc.promptLength(), "BOS, dummy space, 11 characters");
        assertEquals(5, enc.responseLength(), "c b a newline EOS");
        assertEquals(Tokenizer.EOS, enc.tokens()[enc.length() - 1]);
        assertEquals("rev: abc = cba\n", tok.decode(enc.tokens()));
        int[] labels = enc.shiftedTargets();
        for (int t = 0; t < labels.length; t++) {
            assertEquals(t < 12 ? TokenBatch.IGNORE_INDEX : enc.tokens()[t + 1], labels[t]);
        }
        var examples = SyntheticTask.DEFAULT.generate(SyntheticTask.FINETUNE_TASKS, 10, 5).stream().map(x -> x.encode(tok)).toList();
        int rows = 0;
        for (var b : InstructionDataset.of(examples).paddedBatches(4, 0, 9)) {
            rows += b.batchSize();
        }
        assertEquals(10, rows);
    }
}
