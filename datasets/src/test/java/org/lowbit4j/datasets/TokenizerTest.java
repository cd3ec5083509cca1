package org.lowbit4j.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {
    static Tokenizer tok512;
    static Tokenizer tok32k;

    @BeforeAll
    static void load() throws IOException {
        tok512 = Tokenizer.load(SharedData.file("models/tok512.bin"), 512);
        tok32k = Tokenizer.load(SharedData.file("models/tokenizer32k.bin"), 32000);
    }

    static int[] ints(JsonNode array) {
        return IntStream.range(0, array.size()).map(i -> array.get(i).asInt()).toArray();
    }

    static JsonNode golden() throws IOException {
        return new ObjectMapper().readTree(SharedData.file("golden/stories260K_greedy.json").toFile());
    }

    @Test
    void goldenPromptsEncodeLikeRunC() throws IOException {
        var golden = golden();
        assertEquals(4, golden.size());
        for (var g : golden) {
            String prompt = g.get("prompt").asText();
            int[] expected = ints(g.get("prompt_tokens_with_bos"));
            assertArrayEquals(expected, tok512.encode(prompt, true, false), prompt);
            assertArrayEquals(expected, RunCReference.encode(tok512, prompt, true, false), prompt);
            // run.c forces the prompt tokens, so they open tokens_after_bos.
            int[] after = ints(g.get("tokens_after_bos"));
            assertArrayEquals(Arrays.copyOfRange(expected, 1, expected.length),
                    Arrays.copyOf(after, expected.length - 1), prompt);
        }
    }

    @Test
    void goldenTextIsWhatRunCPrints() throws IOException {
        for (var g : golden()) {
            int[] after = ints(g.get("tokens_after_bos"));
            assertEquals(120, after.length);
            String text = g.get("text").asText();
            assertEquals(text, new String(tok512.printedBytes(after), StandardCharsets.UTF_8));
            // The first piece loses its dummy-prefix space after BOS; ASCII-only text decodes the same way.
            assertEquals(text, tok512.decode(after));
            var prompt = g.get("prompt").asText();
            assertTrue(text.startsWith(prompt), text);
        }
    }

    @Test
    void llama2KnownIds() {
        // "Hello world" is [1, 15043, 3186] with the Llama 2 SentencePiece model (▁Hello, ▁world).
        assertArrayEquals(new int[] {1, 15043, 3186}, tok32k.encode("Hello world", true, false));
        assertArrayEquals(new int[] {1, 15043, 3186, 2}, tok32k.encode("Hello world", true, true));
        assertArrayEquals(new int[0], tok32k.encode("", false, false));
        assertArrayEquals(new int[] {1, 2}, tok32k.encode("", true, true));
    }

    @Test
    void llama2RoundTripsIncludingByteFallbackAndEmoji() {
        var texts = List.of("Hello world", "héllo wörld, Grüße aus Köln", "日本語のテキスト", "naïve café ☕",
                "llama 🦙 and thumbs 👍🏽!", "  leading spaces and\ttabs\nnewlines  ", "x");
        for (String s : texts) {
            int[] ids = tok32k.encode(s, true, true);
            assertEquals(Tokenizer.BOS, ids[0]);
            assertEquals(Tokenizer.EOS, ids[ids.length - 1]);
            assertEquals(s, tok32k.decode(ids), s);
            assertArrayEquals(RunCReference.encode(tok32k, s, true, true), ids, s);
        }
        // 🦙 (U+1F999) is not a Llama-2 piece: it falls back to its 4 UTF-8 bytes F0 9F A6 99.
        int[] llama = tok32k.encode("🦙", false, false);
        int[] bytes = {0xF0 + 3, 0x9F + 3, 0xA6 + 3, 0x99 + 3};
        assertArrayEquals(bytes, Arrays.copyOfRange(llama, llama.length - 4, llama.length));
        // run.c's safe_printf drops those lone high bytes; decode keeps them.
        assertEquals("", new String(tok32k.printedBytes(bytes), StandardCharsets.UTF_8));
        assertEquals("🦙", tok32k.decode(bytes));
    }

    @Test
    void heapEncoderMatchesQuadraticRunCLoop() {
        var rnd = new SplittableRandom(42);
        String alphabet = "aaeeiioouu tthhnnssrrll.,!?'\n\t0123456789éüß日本🦙👍";
        int[] cps = alphabet.codePoints().toArray();
        for (int trial = 0; trial < 300; trial++) {
            var sb = new StringBuilder();
            int len = rnd.nextInt(0, 40);
            for (int i = 0; i < len; i++) {
                sb.appendCodePoint(cps[rnd.nextInt(cps.length)]);
            }
            String s = sb.toString();
            for (var t : List.of(tok512, tok32k)) {
                boolean bos = rnd.nextBoolean();
                boolean eos = rnd.nextBoolean();
                assertArrayEquals(RunCReference.encode(t, s, bos, eos), t.encode(s, bos, eos), s);
                assertEquals(s, t.decode(t.encode(s, bos, eos)), s);
            }
        }
    }

    @Test
    void invalidUtf8IsGroupedLikeRunC() {
        // A stray continuation byte run longer than 4, a truncated 3-byte sequence: all fall back to bytes.
        byte[] raw = {'a', (byte) 0x80, (byte) 0x81, (byte) 0x82, (byte) 0x83, (byte) 0x84, 'b', (byte) 0xE6, (byte) 0x97};
        int[] ids = tok32k.encodeUtf8(raw, false, false, true);
        var out = new java.io.ByteArrayOutputStream();
        int prev = Tokenizer.BOS;
        for (int id : ids) {
            out.writeBytes(tok32k.pieceBytes(prev, id));
            prev = id;
        }
        assertArrayEquals(raw, out.toByteArray());
    }

    @Test
    void decodeRules() {
        int once = tok512.encode("Once", false, false)[0];
        assertEquals(" Once", new String(tok512.piece(once), StandardCharsets.UTF_8));
        assertEquals("Once", tok512.decodePiece(Tokenizer.BOS, once));
        assertEquals(" Once", tok512.decodePiece(once, once));
        assertEquals("<0x0A>", new String(tok512.piece(13), StandardCharsets.UTF_8));
        assertArrayEquals(new byte[] {'\n'}, tok512.pieceBytes(5, 13));
        assertArrayEquals(new byte[] {(byte) 0xFF}, tok512.pieceBytes(5, 258));
        assertTrue(Tokenizer.isPrintable(new byte[] {'\n'}));
        assertTrue(Tokenizer.isPrintable(new byte[] {'~'}));
        assertFalse(Tokenizer.isPrintable(new byte[] {0x7F}));
        assertFalse(Tokenizer.isPrintable(new byte[] {(byte) 0xC3}));
        assertFalse(Tokenizer.isPrintable(new byte[0]));
        assertTrue(Tokenizer.isPrintable(new byte[] {(byte) 0xC3, (byte) 0xA9}));
        var e = assertThrows(IllegalArgumentException.class, () -> tok512.pieceBytes(1, 512));
        assertTrue(e.getMessage().contains("512"), e.getMessage());
        // run.c stops printing at a BOS.
        assertEquals("Once", new String(tok512.printedBytes(new int[] {once, 1, once}), StandardCharsets.UTF_8));
    }

    @Test
    void byteTokensParseLikeSscanf() {
        var pieces = new java.util.ArrayList<byte[]>();
        for (String s : List.of("<unk>", "<s>", "</s>", " ", "<0xa>", "<0x41abc", "<0x 42>", "<0x-1>", "<0xZZ>", "<0x>")) {
            pieces.add(s.getBytes(StandardCharsets.UTF_8));
        }
        var t = Tokenizer.of(pieces, new float[pieces.size()]);
        assertArrayEquals(new byte[] {'\n'}, t.pieceBytes(0, 4));
        assertArrayEquals(new byte[] {'A'}, t.pieceBytes(0, 5));
        assertArrayEquals(new byte[] {'B'}, t.pieceBytes(0, 6));
        assertArrayEquals(new byte[] {(byte) 0xFF}, t.pieceBytes(0, 7));
        assertEquals("<0xZZ>", t.decodePiece(0, 8));
        assertEquals("<0x>", t.decodePiece(0, 9));
    }

    @Test
    void saveWritesTheSameBytes(@TempDir Path dir) throws IOException {
        Path copy = dir.resolve("tok512-copy.bin");
        tok512.save(copy);
        assertArrayEquals(Files.readAllBytes(SharedData.file("models/tok512.bin")), Files.readAllBytes(copy));
        var again = Tokenizer.load(copy, 512);
        for (int i = 0; i < 512; i++) {
            assertArrayEquals(tok512.piece(i), again.piece(i));
            assertEquals(Float.floatToRawIntBits(tok512.score(i)), Float.floatToRawIntBits(again.score(i)));
        }
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    // ------------------------------------------------------------ malformed files

    private static byte[] original() throws IOException {
        return Files.readAllBytes(SharedData.file("models/tok512.bin"));
    }

    /** Byte offset of token i's score field in tok512.bin. */
    private static int offsetOf(byte[] file, int token) {
        var b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int pos = 4;
        for (int i = 0; i < token; i++) {
            pos += 8 + b.getInt(pos + 4);
        }
        return pos;
    }

    private static String loadError(Path dir, String name, byte[] content, int vocab) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        var e = assertThrows(MalformedDataException.class, () -> Tokenizer.load(p, vocab));
        assertTrue(e.getMessage().startsWith(p.toString()), "names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void truncatedFile(@TempDir Path dir) throws IOException {
        byte[] full = original();
        int victim = 511;
        while (ByteBuffer.wrap(full).order(ByteOrder.LITTLE_ENDIAN).getInt(offsetOf(full, victim) + 4) < 2) {
            victim--; // need a token of >= 2 bytes to cut inside its text
        }
        int at = offsetOf(full, victim);
        String msg = loadError(dir, "cut-text.bin", Arrays.copyOf(full, at + 8 + 1), 512);
        assertTrue(msg.contains("truncated at token " + victim), msg);
        assertTrue(msg.contains("found 1"), msg);
        msg = loadError(dir, "cut-header.bin", Arrays.copyOf(full, full.length - 3), 512);
        assertTrue(msg.contains("truncated at token 511") || msg.contains("too short"), msg);
        msg = loadError(dir, "tiny.bin", new byte[] {7, 0}, 512);
        assertTrue(msg.contains("need at least 4100 bytes") && msg.contains("file has 2"), msg);
    }

    @Test
    void corruptLengths(@TempDir Path dir) throws IOException {
        byte[] bad = original();
        int at = offsetOf(bad, 77);
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(at + 4, -5);
        String msg = loadError(dir, "negative.bin", bad, 512);
        assertTrue(msg.contains("token 77") && msg.contains("-5") && msg.contains("0..7"), msg);

        bad = original();
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(at + 4, 2_000_000_000);
        msg = loadError(dir, "absurd.bin", bad, 512);
        assertTrue(msg.contains("token 77") && msg.contains("2000000000"), msg);

        bad = original();
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(0, -1);
        msg = loadError(dir, "header.bin", bad, 512);
        assertTrue(msg.contains("max_token_length") && msg.contains("-1"), msg);
    }

    @Test
    void vocabSizeMismatch(@TempDir Path dir) throws IOException {
        byte[] full = original();
        String msg = loadError(dir, "fewer.bin", full, 500);
        assertTrue(msg.contains("expected 500 tokens") && msg.contains("holds 512 tokens"), msg);
        msg = loadError(dir, "more.bin", full, 513);
        assertTrue(msg.contains("token 512") || msg.contains("too short"), msg);
        // An absurd vocab size is rejected from the file size, before any allocation.
        msg = loadError(dir, "huge.bin", full, Integer.MAX_VALUE);
        assertTrue(msg.contains("too short for 2147483647 tokens"), msg);
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(SharedData.file("models/tok512.bin"), 0));
    }

    @Test
    void vocabSizeInferredFromTheFile(@TempDir Path dir) throws IOException {
        assertEquals(512, Tokenizer.load(SharedData.file("models/tok512.bin")).vocabSize());
        assertEquals(32000, Tokenizer.load(SharedData.file("models/tokenizer32k.bin")).vocabSize());
        byte[] full = original();
        Path cut = dir.resolve("cut.bin");
        Files.write(cut, Arrays.copyOf(full, full.length - 1));
        var e = assertThrows(MalformedDataException.class, () -> Tokenizer.load(cut));
        assertTrue(e.getMessage().contains("token 511"), e.getMessage());
        Path empty = dir.resolve("empty.bin");
        Files.write(empty, new byte[] {7, 0, 0, 0});
        e = assertThrows(MalformedDataException.class, () -> Tokenizer.load(empty));
        assertTrue(e.getMessage().contains("no token"), e.getMessage());
    }

    @Test
    void vocabularyWithoutWhatTheTextNeeds() {
        var small = Tokenizer.of(List.of("<unk>".getBytes(StandardCharsets.UTF_8), "<s>".getBytes(StandardCharsets.UTF_8),
                "</s>".getBytes(StandardCharsets.UTF_8)), new float[3]);
        var e = assertThrows(IllegalStateException.class, () -> small.encode("a", true, false));
        assertTrue(e.getMessage().contains("dummy prefix"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> small.encode("a", true, false, false));
        assertTrue(e.getMessage().contains("byte-fallback token 100"), e.getMessage());
    }
}
