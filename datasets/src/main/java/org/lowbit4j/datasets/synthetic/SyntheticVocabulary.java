package org.lowbit4j.datasets.synthetic;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import org.lowbit4j.datasets.Tokenizer;

/**
 * The synthetic task's vocabulary as a llama2.c tokenizer: {@code <unk>}, {@code <s>} and
 * {@code </s>} (written like llama2.c's export: {@code "\n<s>\n"}, {@code "\n</s>\n"}), the 256
 * byte-fallback tokens {@code <0x00>}..{@code <0xFF>}, then one token per character of
 * {@link #CHARACTERS}. Specials and byte tokens score 0, character i scores {@code -i}; no two
 * characters concatenate to a token, so encoding is purely per character (byte fallback for
 * anything else).
 */
public final class SyntheticVocabulary {
    /** Characters with their own token: space (the dummy prefix), newline, a-z, 0-9, ':', '=', '+'. */
    public static final String CHARACTERS = " \nabcdefghijklmnopqrstuvwxyz0123456789:=+";
    /** Id of the first character token (after the specials and byte tokens). */
    public static final int FIRST_CHARACTER_ID = Tokenizer.BYTE_OFFSET + 256;
    /** Number of tokens: 3 + 256 + 41 = 300. */
    public static final int VOCAB_SIZE = FIRST_CHARACTER_ID + CHARACTERS.length();

    private static final Tokenizer TOKENIZER = build();

    private SyntheticVocabulary() {
    }

    private static Tokenizer build() {
        var pieces = new ArrayList<byte[]>(VOCAB_SIZE);
        var scores = new float[VOCAB_SIZE];
        pieces.add("<unk>".getBytes(StandardCharsets.US_ASCII));
        pieces.add("\n<s>\n".getBytes(StandardCharsets.US_ASCII));
        pieces.add("\n</s>\n".getBytes(StandardCharsets.US_ASCII));
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b).getBytes(StandardCharsets.US_ASCII));
        }
        for (int i = 0; i < CHARACTERS.length(); i++) {
            pieces.add(new byte[] {(byte) CHARACTERS.charAt(i)});
            scores[FIRST_CHARACTER_ID + i] = -i;
        }
        return Tokenizer.of(pieces, scores);
    }

    /** @return the in-memory tokenizer (immutable, shared) */
    public static Tokenizer tokenizer() {
        return TOKENIZER;
    }

    /**
     * Writes the tokenizer file (atomically); load it with {@code Tokenizer.load(file, VOCAB_SIZE)}.
     *
     * @param file destination
     * @throws IOException on a write error
     */
    public static void write(Path file) throws IOException {
        TOKENIZER.save(file);
    }
}
