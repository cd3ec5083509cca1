package org.lowbit4j.datasets;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The llama2.c tokenizer: a SentencePiece-BPE vocabulary of byte strings with merge scores,
 * encoded and decoded exactly as llama2.c's {@code run.c} does.
 *
 * <p>File format (little-endian): int32 {@code max_token_length}, then for each of
 * {@code vocabSize} tokens: float32 score, int32 byte length, the token's bytes. The vocabulary
 * size is not in the file; it comes from the model. Token 0 is {@code <unk>}, 1 is BOS
 * ({@code <s>}), 2 is EOS ({@code </s>}) and tokens 3..258 are the byte-fallback tokens
 * {@code <0x00>}..{@code <0xFF>}.
 *
 * <p>Pieces are kept as byte strings (a token may be a partial UTF-8 sequence); internally each
 * is held as an ISO-8859-1 {@link String}, which maps every byte to one char losslessly, so map
 * look-ups and concatenations are cheap.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Tokenizer {
    /** Id of {@code <unk>}. */
    public static final int UNK = 0;
    /** Id of the beginning-of-sequence token {@code <s>}. */
    public static final int BOS = 1;
    /** Id of the end-of-sequence token {@code </s>}. */
    public static final int EOS = 2;
    /** Id of the byte-fallback token {@code <0x00>}; byte b is token {@code b + BYTE_OFFSET}. */
    public static final int BYTE_OFFSET = 3;

    /** run.c's initial best score: pairs scoring at or below it are never merged. */
    private static final float NO_MERGE_SCORE = -1e10f;
    /** Upper bound on a single token's byte length accepted by {@link #load}; real files use &lt; 64. */
    private static final int MAX_PIECE_BYTES = 1 << 16;

    private final String[] pieces;
    private final float[] scores;
    private final int maxTokenLength;
    private final Map<String, Integer> ids;
    private final int dummyPrefixId;

    private Tokenizer(String[] pieces, float[] scores, int maxTokenLength) {
        this.pieces = pieces;
        this.scores = scores;
        this.maxTokenLength = maxTokenLength;
        this.ids = HashMap.newHashMap(pieces.length);
        // NOTE: run.c's bsearch over a sorted array returns an arbitrary one of equal strings; the
        // real vocabularies have no duplicates, and here the lowest id wins deterministically.
        for (int i = pieces.length - 1; i >= 0; i--) {
            ids.put(pieces[i], i);
        }
        this.dummyPrefixId = ids.getOrDefault(" ", -1);
    }

    /**
     * Reads a llama2.c tokenizer file.
     *
     * @param file the tokenizer file (e.g. {@code tokenizer.bin}, {@code tok512.bin})
     * @param vocabSize number of tokens, from the model header
     * @return the tokenizer
     * @throws MalformedDataException if the file is truncated, has a negative or absurd length,
     *     a token longer than its {@code max_token_length}, or holds more than {@code vocabSize}
     *     tokens (the message names the file, the token index and expected vs actual values)
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if {@code vocabSize < 1}
     */
    public static Tokenizer load(Path file, int vocabSize) throws IOException {
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize must be >= 1, got " + vocabSize);
        }
        long size = Files.size(file);
        // Every token needs at least 8 bytes (score + length): check before allocating anything.
        long minSize = 4L + 8L * vocabSize;
        if (size < minSize) {
            throw new MalformedDataException(file, "too short for " + vocabSize + " tokens: need at least "
                    + minSize + " bytes (4 + 8 per token), file has " + size
                    + " (truncated file or wrong vocab size)");
        }
        if (size > Integer.MAX_VALUE - 16) {
            throw new MalformedDataException(file, "file of " + size + " bytes is too large for a tokenizer");
        }
        var buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int maxLen = buf.getInt();
        if (maxLen < 0 || maxLen > MAX_PIECE_BYTES) {
            throw new MalformedDataException(file, "max_token_length must be in [0, " + MAX_PIECE_BYTES
                    + "], found " + maxLen);
        }
        var pieces = new String[vocabSize];
        var scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            if (buf.remaining() < 8) {
                throw new MalformedDataException(file, "truncated at token " + i + " of " + vocabSize + " (offset "
                        + buf.position() + "): expected 8 bytes of score and length, found " + buf.remaining());
            }
            scores[i] = buf.getFloat();
            int len = buf.getInt();
            if (len < 0 || len > maxLen) {
                throw new MalformedDataException(file, "token " + i + " (offset " + (buf.position() - 4)
                        + ") has byte length " + len + ", expected 0.." + maxLen + " (max_token_length)");
            }
            if (buf.remaining() < len) {
                throw new MalformedDataException(file, "truncated at token " + i + " of " + vocabSize
                        + ": expected " + len + " bytes of text, found " + buf.remaining());
            }
            var bytes = new byte[len];
            buf.get(bytes);
            pieces[i] = new String(bytes, StandardCharsets.ISO_8859_1);
        }
        if (buf.hasRemaining()) {
            throw new MalformedDataException(file, "vocab size mismatch: expected " + vocabSize + " tokens, but "
                    + buf.remaining() + " bytes remain after them (the file holds "
                    + countTokens(buf, maxLen, vocabSize) + ")");
        }
        return new Tokenizer(pieces, scores, maxLen);
    }

    /**
     * Reads a llama2.c tokenizer file whose vocabulary size is not known from a model: the size
     * is the number of entries the file holds (it must end exactly after the last one).
     *
     * @param file the tokenizer file
     * @return the tokenizer
     * @throws MalformedDataException if the file is truncated (inside an entry), has a negative or
     *     absurd length, or holds no token
     * @throws IOException if the file cannot be read
     */
    public static Tokenizer load(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 16) {
            throw new MalformedDataException(file, "file of " + size + " bytes is too large for a tokenizer");
        }
        if (size < 4) {
            throw new MalformedDataException(file, "too short: expected at least 4 bytes of max_token_length, found " + size);
        }
        var buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int maxLen = buf.getInt();
        int n = 0;
        while (buf.hasRemaining()) {
            if (buf.remaining() < 8) {
                throw new MalformedDataException(file, "truncated at token " + n + " (offset " + buf.position()
                        + "): expected 8 bytes of score and length, found " + buf.remaining());
            }
            buf.getFloat();
            int len = buf.getInt();
            if (len < 0 || len > maxLen || len > buf.remaining()) {
                throw new MalformedDataException(file, "token " + n + " (offset " + (buf.position() - 4) + ") has byte length "
                        + len + ", expected 0.." + Math.min(maxLen, buf.remaining()) + " (max_token_length "
                        + maxLen + ", bytes left " + buf.remaining() + ")");
            }
            buf.position(buf.position() + len);
            n++;
        }
        if (n == 0) {
            throw new MalformedDataException(file, "holds no token after max_token_length");
        }
        return load(file, n);
    }

    /** Best-effort count of the tokens in a file that has more than expected, for the error message. */
    private static String countTokens(ByteBuffer buf, int maxLen, int already) {
        int n = already;
        while (buf.remaining() >= 8) {
            buf.getFloat();
            int len = buf.getInt();
            if (len < 0 || len > maxLen || len > buf.remaining()) {
                return "at least " + n + " tokens and unparsable bytes";
            }
            buf.position(buf.position() + len);
            n++;
        }
        return buf.hasRemaining() ? "at least " + n + " tokens and " + buf.remaining() + " stray bytes" : n + " tokens";
    }

    /**
     * Builds a tokenizer in memory; {@code max_token_length} is the longest piece.
     *
     * @param pieces each token's bytes, by id
     * @param scores each token's merge score, by id (higher merges first)
     * @return the tokenizer
     * @throws IllegalArgumentException if the lists are empty or differ in length
     */
    public static Tokenizer of(List<byte[]> pieces, float[] scores) {
        if (pieces.isEmpty() || pieces.size() != scores.length) {
            throw new IllegalArgumentException("need as many scores as pieces (>= 1): pieces " + pieces.size()
                    + ", scores " + scores.length);
        }
        var ps = new String[pieces.size()];
        int maxLen = 0;
        for (int i = 0; i < ps.length; i++) {
            ps[i] = new String(pieces.get(i), StandardCharsets.ISO_8859_1);
            maxLen = Math.max(maxLen, ps[i].length());
        }
        return new Tokenizer(ps, scores.clone(), maxLen);
    }

    /** SentencePiece's word-boundary marker U+2581, which llama2.c's export turns into a space. */
    public static final char SP_SPACE = '\u2581';

    /**
     * Builds a tokenizer from SentencePiece pieces (e.g. GGUF's {@code tokenizer.ggml.tokens} and
     * {@code tokenizer.ggml.scores}) exactly as llama2.c's {@code tokenizer.py export} does: token
     * 1 becomes {@code "\n<s>\n"}, token 2 {@code "\n</s>\n"}, and every U+2581 a space; the
     * pieces are stored as UTF-8. For stories260K.gguf this reproduces tok512.bin byte for byte.
     *
     * @param pieces SentencePiece pieces by id
     * @param scores their scores
     * @return the tokenizer
     * @throws IllegalArgumentException if the lists are empty or differ in length
     */
    public static Tokenizer fromSentencePiece(List<String> pieces, float[] scores) {
        var bytes = new java.util.ArrayList<byte[]>(pieces.size());
        for (int i = 0; i < pieces.size(); i++) {
            String t = i == BOS ? "\n<s>\n" : i == EOS ? "\n</s>\n" : pieces.get(i);
            bytes.add(t.replace(SP_SPACE, ' ').getBytes(StandardCharsets.UTF_8));
        }
        return of(bytes, scores);
    }

    /**
     * The inverse of {@link #fromSentencePiece} for one token, e.g. to embed the vocabulary in a
     * GGUF file: BOS is {@code "<s>"}, EOS {@code "</s>"}, spaces become U+2581 and the bytes are
     * decoded as UTF-8 (invalid UTF-8 becomes U+FFFD).
     *
     * @param id token id
     * @return the SentencePiece piece
     * @throws IllegalArgumentException if id is outside [0, vocabSize)
     */
    public String sentencePiece(int id) {
        checkId(id, "id");
        if (id == BOS) {
            return "<s>";
        }
        if (id == EOS) {
            return "</s>";
        }
        return new String(pieces[id].getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8).replace(' ', SP_SPACE);
    }

    /**
     * @param id token id
     * @return UNKNOWN for 0, CONTROL for BOS and EOS, BYTE for ids 3..258 whose piece is
     *     {@code <0xHH>} with HH = id - 3 in upper-case hex, NORMAL otherwise
     * @throws IllegalArgumentException if id is outside [0, vocabSize)
     */
    public TokenType tokenType(int id) {
        checkId(id, "id");
        if (id == UNK) {
            return TokenType.UNKNOWN;
        }
        if (id == BOS || id == EOS) {
            return TokenType.CONTROL;
        }
        if (id >= BYTE_OFFSET && id < BYTE_OFFSET + 256
                && pieces[id].equals(String.format("<0x%02X>", id - BYTE_OFFSET))) {
            return TokenType.BYTE;
        }
        return TokenType.NORMAL;
    }

    /**
     * Writes this vocabulary in llama2.c format, atomically (temporary file, then rename).
     *
     * @param file destination
     * @throws IOException on a write error
     */
    public void save(Path file) throws IOException {
        var bytes = new ByteArrayOutputStream();
        var le = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        try (var out = new DataOutputStream(bytes)) {
            out.write(le.clear().putInt(maxTokenLength).array(), 0, 4);
            for (int i = 0; i < pieces.length; i++) {
                out.write(le.clear().putFloat(scores[i]).putInt(pieces[i].length()).array(), 0, 8);
                out.write(pieces[i].getBytes(StandardCharsets.ISO_8859_1));
            }
        }
        AtomicFiles.write(file, out -> bytes.writeTo(out));
    }

    /** @return number of tokens */
    public int vocabSize() {
        return pieces.length;
    }

    /** @return the {@code max_token_length} header field (bytes) */
    public int maxTokenLength() {
        return maxTokenLength;
    }

    /**
     * @param id token id
     * @return the token's raw vocabulary bytes (a copy; byte tokens are {@code <0xHH>} text)
     * @throws IllegalArgumentException if id is outside [0, vocabSize)
     */
    public byte[] piece(int id) {
        checkId(id, "id");
        return pieces[id].getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * @param id token id
     * @return the token's merge score
     * @throws IllegalArgumentException if id is outside [0, vocabSize)
     */
    public float score(int id) {
        checkId(id, "id");
        return scores[id];
    }

    /**
     * @param pieceBytes a byte string
     * @return the id of the token with exactly these bytes, or -1
     */
    public int lookup(byte[] pieceBytes) {
        return ids.getOrDefault(new String(pieceBytes, StandardCharsets.ISO_8859_1), -1);
    }

    // ---------------------------------------------------------------- encoding

    /**
     * Encodes text exactly as run.c's {@code encode}, with the dummy-prefix space.
     *
     * @param text the text (encoded to UTF-8 first)
     * @param bos prepend BOS (1)
     * @param eos append EOS (2)
     * @return token ids
     * @throws IllegalStateException if the vocabulary lacks what the text needs (a {@code " "}
     *     token for the dummy prefix, or byte-fallback ids below vocabSize)
     */
    public int[] encode(String text, boolean bos, boolean eos) {
        return encodeUtf8(text.getBytes(StandardCharsets.UTF_8), bos, eos, true);
    }

    /**
     * Like {@link #encode(String, boolean, boolean)}, optionally without the dummy-prefix space:
     * use {@code dummyPrefix = false} to encode a continuation (e.g. a response right after a
     * prompt) the way it would tokenize inside a longer text.
     *
     * @param text the text
     * @param bos prepend BOS
     * @param eos append EOS
     * @param dummyPrefix prepend the {@code " "} token when the text is non-empty (run.c: always)
     * @return token ids
     * @throws IllegalStateException as for {@link #encode(String, boolean, boolean)}
     */
    public int[] encode(String text, boolean bos, boolean eos, boolean dummyPrefix) {
        return encodeUtf8(text.getBytes(StandardCharsets.UTF_8), bos, eos, dummyPrefix);
    }

    /**
     * Encodes raw bytes. Characters are grouped as run.c does (a lead byte plus up to 3
     * continuation bytes, so invalid UTF-8 is handled identically). Unlike a C string, a NUL byte
     * does not end the text: it is looked up like any other byte.
     *
     * <p>Merging picks, among all adjacent pairs whose concatenated vocabulary strings form a
     * token, the one with the highest score (the leftmost on ties), merges it and repeats. run.c
     * rescans the whole sequence per merge (quadratic); here a binary heap over a linked list
     * yields the same merges in the same order in O(n log n), so whole books can be encoded.
     *
     * @param utf8 the text's bytes
     * @param bos prepend BOS
     * @param eos append EOS
     * @param dummyPrefix prepend the {@code " "} token when the text is non-empty
     * @return token ids
     * @throws IllegalStateException as for {@link #encode(String, boolean, boolean)}
     * @throws IllegalArgumentException if the text is longer than 2^31 - 16 bytes
     */
    public int[] encodeUtf8(byte[] utf8, boolean bos, boolean eos, boolean dummyPrefix) {
        int n = utf8.length;
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("text of " + n + " bytes is too long to encode in one piece");
        }
        // Node arrays of a doubly linked list; node order = position order, which is what breaks ties.
        int cap = n + 2;
        var tok = new int[cap];
        int count = 0;
        if (bos) {
            tok[count++] = BOS;
        }
        if (n > 0 && dummyPrefix) {
            if (dummyPrefixId < 0) {
                throw new IllegalStateException("vocabulary has no \" \" token for the dummy prefix");
            }
            tok[count++] = dummyPrefixId;
        }
        int start = 0;
        while (start < n) {
            // A character: the lead byte plus following continuation bytes (10xxxxxx), at most 4 bytes.
            int end = start + 1;
            while (end < n && (utf8[end] & 0xC0) == 0x80 && end - start < 4) {
                end++;
            }
            int id = ids.getOrDefault(new String(utf8, start, end - start, StandardCharsets.ISO_8859_1), -1);
            if (id >= 0) {
                tok[count++] = id;
            } else {
                for (int i = start; i < end; i++) {
                    tok[count++] = byteToken(utf8[i]);
                }
            }
            start = end;
        }
        count = merge(tok, count);
        var out = Arrays.copyOf(tok, count + (eos ? 1 : 0));
        if (eos) {
            out[count] = EOS;
        }
        return out;
    }

    private int byteToken(byte b) {
        int id = (b & 0xFF) + BYTE_OFFSET;
        if (id >= pieces.length) {
            throw new IllegalStateException("byte 0x" + Integer.toHexString(b & 0xFF) + " needs byte-fallback token "
                    + id + " but the vocabulary has only " + pieces.length + " tokens");
        }
        return id;
    }

    /** Applies run.c's merge rule in place over tok[0..count); returns the new count. */
    private int merge(int[] tok, int count) {
        if (count < 2) {
            return count;
        }
        var next = new int[count];
        var prev = new int[count];
        for (int i = 0; i < count; i++) {
            next[i] = i + 1 < count ? i + 1 : -1;
            prev[i] = i - 1;
        }
        // The heap holds one key per candidate pair: (descending score, ascending left node), so the
        // smallest key is run.c's choice: the highest score, the leftmost pair on ties. Keys are not
        // removed when a pair disappears; a popped key is acted on only if the pair now at that
        // node still merges with exactly that score, which makes it a current candidate with the
        // minimal key, i.e. exactly the pair run.c would merge next.
        var heap = new LongMinHeap(count);
        var cache = new PairCache(Math.min(count, 1 << 16));
        for (int i = 0; i + 1 < count; i++) {
            offer(heap, cache, tok, i, i + 1);
        }
        while (!heap.isEmpty()) {
            long key = heap.poll();
            int left = (int) key;
            int right = next[left];
            if (tok[left] < 0 || right < 0) {
                continue;
            }
            int merged = mergedId(cache, tok[left], tok[right]);
            if (merged < 0 || scoreKey(scores[merged]) != (int) (key >>> 32)) {
                continue;
            }
            tok[left] = merged;
            int after = next[right];
            next[left] = after;
            if (after >= 0) {
                prev[after] = left;
            }
            tok[right] = -1;
            next[right] = -1;
            if (prev[left] >= 0) {
                offer(heap, cache, tok, prev[left], left);
            }
            if (after >= 0) {
                offer(heap, cache, tok, left, after);
            }
        }
        int w = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            tok[w++] = tok[i];
        }
        return w;
    }

    private void offer(LongMinHeap heap, PairCache cache, int[] tok, int left, int right) {
        int merged = mergedId(cache, tok[left], tok[right]);
        if (merged >= 0) {
            heap.add(((long) scoreKey(scores[merged]) << 32) | left);
        }
    }

    /** @return the id of the concatenation of the two pieces if it may merge (score &gt; -1e10), else -1 */
    private int mergedId(PairCache cache, int a, int b) {
        long key = PairCache.key(a, b);
        int id = cache.get(key, -2);
        if (id == -2) {
            Integer m = ids.get(pieces[a].concat(pieces[b]));
            // NOTE: NaN fails "> -1e10f" and never merges, exactly as in run.c.
            id = m != null && scores[m] > NO_MERGE_SCORE ? m : -1;
            cache.put(key, id);
        }
        return id;
    }

    /**
     * Maps a score to an int whose ascending (signed) order is the score's descending order, so
     * it can sit in the high half of a signed long heap key.
     * NOTE: -0.0 is mapped like 0.0, because run.c's {@code >} treats them as equal (tok512.bin has
     * both), so such a tie goes to the leftmost pair.
     */
    private static int scoreKey(float score) {
        int bits = Float.floatToIntBits(score == 0f ? 0f : score);
        int ascending = bits < 0 ? ~bits : bits ^ Integer.MIN_VALUE; // unsigned order == float order
        return ~ascending ^ Integer.MIN_VALUE; // descending, and signed order == unsigned order
    }

    // ---------------------------------------------------------------- decoding

    /**
     * The bytes run.c's {@code decode(prev, token)} yields for a token: the piece, without its
     * leading space if {@code prevToken} is BOS, and a piece of the form {@code <0xHH>} (parsed
     * like C's {@code sscanf("<0x%02hhX>")}) becomes that single raw byte. The bytes may be a
     * partial UTF-8 sequence: write them to a byte stream, do not decode them one by one.
     *
     * @param prevToken the token before (BOS strips the dummy-prefix space)
     * @param token the token to decode
     * @return the bytes (a fresh array)
     * @throws IllegalArgumentException if token is outside [0, vocabSize)
     */
    public byte[] pieceBytes(int prevToken, int token) {
        checkId(token, "token");
        String p = pieces[token];
        int from = prevToken == BOS && !p.isEmpty() && p.charAt(0) == ' ' ? 1 : 0;
        int raw = parseRawByte(p, from);
        if (raw >= 0) {
            return new byte[] {(byte) raw};
        }
        return p.substring(from).getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * @param prevToken the token before
     * @param token the token to decode
     * @return {@link #pieceBytes} decoded as UTF-8 (a partial sequence becomes U+FFFD)
     * @throws IllegalArgumentException if token is outside [0, vocabSize)
     */
    public String decodePiece(int prevToken, int token) {
        return new String(pieceBytes(prevToken, token), StandardCharsets.UTF_8);
    }

    /**
     * run.c's {@code safe_printf} rule: an empty piece, or a single byte that is neither printable
     * ASCII (0x20..0x7E) nor whitespace (\t \n \v \f \r, space), is not printed. Note this drops
     * the lone bytes &gt;= 0x80 of byte-fallback tokens, so run.c never prints such characters.
     *
     * @param piece bytes from {@link #pieceBytes}
     * @return whether run.c would print the piece
     */
    public static boolean isPrintable(byte[] piece) {
        if (piece.length == 0 || piece[0] == 0) {
            return false;
        }
        if (piece.length == 1) {
            int b = piece[0] & 0xFF;
            return (b >= 0x20 && b <= 0x7E) || (b >= 0x09 && b <= 0x0D);
        }
        return true;
    }

    /**
     * Reproduces what run.c prints while generating: for each token the piece decoded against
     * its predecessor (BOS before the first), filtered by {@link #isPrintable}; stops at a BOS as
     * run.c does. Pieces holding a NUL byte print only up to it, as C's {@code printf("%s")}.
     *
     * @param tokensAfterBos the tokens run.c decodes (prompt tokens after BOS, then generated ones)
     * @return the printed bytes (without run.c's final newline)
     * @throws IllegalArgumentException if a token is outside [0, vocabSize)
     */
    public byte[] printedBytes(int[] tokensAfterBos) {
        var out = new ByteArrayOutputStream();
        int prev = BOS;
        for (int t : tokensAfterBos) {
            if (t == BOS) {
                break;
            }
            var piece = pieceBytes(prev, t);
            if (isPrintable(piece)) {
                int len = 0;
                while (len < piece.length && piece[len] != 0) {
                    len++;
                }
                out.write(piece, 0, len);
            }
            prev = t;
        }
        return out.toByteArray();
    }

    /**
     * Decodes a token sequence to text: BOS and EOS contribute nothing, every other token its
     * {@link #pieceBytes} against its predecessor (BOS before the first, so the dummy-prefix
     * space goes); the bytes are concatenated, then decoded as UTF-8. Thus
     * {@code decode(encode(s, bos, eos)) == s} for any valid text. Unlike run.c's output, bytes
     * from byte-fallback tokens are kept, so non-ASCII characters and emoji survive.
     *
     * @param tokens token ids
     * @return the text
     * @throws IllegalArgumentException if a token is outside [0, vocabSize)
     */
    public String decode(int[] tokens) {
        var out = new ByteArrayOutputStream();
        int prev = BOS;
        for (int t : tokens) {
            if (t != BOS && t != EOS) {
                out.writeBytes(pieceBytes(prev, t));
            }
            prev = t;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * C's {@code sscanf(piece, "<0x%02hhX>", &b) == 1}: the literal {@code <0x}, then a hex
     * conversion of width 2 (after optional whitespace, with an optional sign); the closing
     * {@code >} need not match for the call to return 1.
     *
     * @return the byte value, or -1 if the piece is not a byte piece
     */
    private static int parseRawByte(String p, int from) {
        if (!p.startsWith("<0x", from)) {
            return -1;
        }
        int i = from + 3;
        while (i < p.length() && isCSpace(p.charAt(i))) {
            i++;
        }
        int width = 2;
        boolean negative = false;
        if (i < p.length() && (p.charAt(i) == '+' || p.charAt(i) == '-')) {
            negative = p.charAt(i) == '-';
            i++;
            width--;
        }
        int value = 0;
        int digits = 0;
        while (digits < width && i < p.length() && Character.digit(p.charAt(i), 16) >= 0 && p.charAt(i) < 0x80) {
            value = value * 16 + Character.digit(p.charAt(i), 16);
            i++;
            digits++;
        }
        if (digits == 0) {
            return -1;
        }
        return (negative ? -value : value) & 0xFF;
    }

    private static boolean isCSpace(char c) {
        return c == ' ' || (c >= 0x09 && c <= 0x0D);
    }

    private void checkId(int id, String what) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException(what + " " + id + " is outside the vocabulary [0, " + pieces.length + ")");
        }
    }
}
