package org.lowbit4j.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GGUF-embedded vocabulary of stories260K converts to tok512.bin exactly, and back. */
class SentencePieceGgufTest {

    /** Reads only GGUF's key-value section: enough for the tokenizer arrays. */
    static Map<String, Object> ggufMetadata(Path file) throws IOException {
        var b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x46554747, b.getInt(), "GGUF magic");
        assertEquals(3, b.getInt(), "GGUF version");
        b.getLong(); // tensor count
        long kvs = b.getLong();
        var out = new HashMap<String, Object>();
        for (long i = 0; i < kvs; i++) {
            String key = string(b);
            out.put(key, value(b, b.getInt()));
        }
        return out;
    }

    static String string(ByteBuffer b) {
        var bytes = new byte[Math.toIntExact(b.getLong())];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    static Object value(ByteBuffer b, int type) {
        return switch (type) {
            case 0, 1 -> b.get();
            case 2, 3 -> b.getShort();
            case 4, 5 -> b.getInt();
            case 6 -> b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> string(b);
            case 9 -> {
                int et = b.getInt();
                long n = b.getLong();
                var list = new ArrayList<Object>();
                for (long i = 0; i < n; i++) {
                    list.add(value(b, et));
                }
                yield list;
            }
            case 10, 11 -> b.getLong();
            case 12 -> b.getDouble();
            default -> throw new IllegalStateException("unknown GGUF type " + type);
        };
    }

    @Test
    void ggufVocabularyIsTok512(@TempDir Path dir) throws IOException {
        var meta = ggufMetadata(SharedData.file("models/stories260K.gguf"));
        @SuppressWarnings("unchecked")
        var tokens = (List<Object>) meta.get("tokenizer.ggml.tokens");
        @SuppressWarnings("unchecked")
        var scoreList = (List<Object>) meta.get("tokenizer.ggml.scores");
        @SuppressWarnings("unchecked")
        var types = (List<Object>) meta.get("tokenizer.ggml.token_type");
        assertEquals(512, tokens.size());
        var pieces = tokens.stream().map(String.class::cast).toList();
        var scores = new float[512];
        for (int i = 0; i < 512; i++) {
            scores[i] = (Float) scoreList.get(i);
        }
        var fromGguf = Tokenizer.fromSentencePiece(pieces, scores);
        Path out = dir.resolve("tok.bin");
        fromGguf.save(out);
        assertArrayEquals(Files.readAllBytes(SharedData.file("models/tok512.bin")), Files.readAllBytes(out));

        var tok512 = Tokenizer.load(SharedData.file("models/tok512.bin"), 512);
        for (int i = 0; i < 512; i++) {
            assertEquals(pieces.get(i), tok512.sentencePiece(i), "piece " + i);
            assertEquals(((Integer) types.get(i)).intValue(), tok512.tokenType(i).ggufCode(), "type of " + i);
        }
        assertTrue(pieces.get(259).startsWith("\u2581"));
    }
}
