package org.lowbit4j.datasets.text;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.lowbit4j.datasets.MalformedDataException;
import org.lowbit4j.datasets.Tokenizer;

/**
 * A tokenized text split into training and validation tokens.
 *
 * <p>Choices (documented defaults; {@link #fromDocuments} is the per-document alternative):
 * <ul>
 *   <li>The whole text is encoded <b>once</b> as one sequence, with BOS first and no EOS
 *       ({@code tokenizer.encode(text, true, false)}): windows may span line and paragraph breaks,
 *       which is what a language model should learn.</li>
 *   <li>The validation split is the <b>tail</b> {@code validationFraction} of the tokens
 *       (default {@value #DEFAULT_VALIDATION_FRACTION}, rounded to whole tokens), so it is text
 *       the model never sees in training, not interleaved samples of it.</li>
 * </ul>
 */
public final class TextDataset {
    /** Default held-out fraction of the tokens. */
    public static final double DEFAULT_VALIDATION_FRACTION = 0.1;
    /**
     * Largest text file read: 256 MiB. Encoding needs about 24 bytes of working memory per input
     * byte at worst (token, link and heap arrays), so this bounds it to ~6 GB; split bigger corpora.
     */
    public static final long MAX_FILE_BYTES = 256L << 20;

    private final String source;
    private final int[] train;
    private final int[] validation;

    private TextDataset(String source, int[] train, int[] validation) {
        this.source = source;
        this.train = train;
        this.validation = validation;
    }

    /**
     * Encodes a UTF-8 text file with the default validation fraction.
     *
     * @param file text file
     * @param tokenizer the vocabulary
     * @return the dataset
     * @throws IOException if the file cannot be read or exceeds {@link #MAX_FILE_BYTES}
     */
    public static TextDataset fromFile(Path file, Tokenizer tokenizer) throws IOException {
        return fromFile(file, tokenizer, DEFAULT_VALIDATION_FRACTION);
    }

    /**
     * Encodes a text file. The bytes are encoded as they are (invalid UTF-8 falls back to byte
     * tokens, exactly as run.c would).
     *
     * @param file text file
     * @param tokenizer the vocabulary
     * @param validationFraction held-out tail fraction in [0, 1)
     * @return the dataset
     * @throws IOException if the file cannot be read or exceeds {@link #MAX_FILE_BYTES}
     * @throws IllegalArgumentException if validationFraction is outside [0, 1)
     */
    public static TextDataset fromFile(Path file, Tokenizer tokenizer, double validationFraction) throws IOException {
        checkFraction(validationFraction);
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new MalformedDataException(file, "text file of " + size + " bytes exceeds the limit of "
                    + MAX_FILE_BYTES + " bytes");
        }
        int[] tokens = tokenizer.encodeUtf8(Files.readAllBytes(file), true, false, true);
        return fromTokens(file.toString(), tokens, validationFraction);
    }

    /** Document separator of the TinyStories text files. */
    public static final String TINYSTORIES_SEPARATOR = "<|endoftext|>";

    /**
     * Per-document encoding, as llama2.c pre-tokenizes TinyStories: the file is split on
     * {@code separator}, each document is stripped of surrounding whitespace, empty ones are
     * skipped, and each is encoded with its own BOS (no EOS); the results are concatenated. So
     * the separator text itself is never learned and a BOS marks every document start. The
     * validation split is still the tail fraction of the tokens (it may start mid-document).
     *
     * @param file UTF-8 text file
     * @param tokenizer the vocabulary
     * @param separator document separator, e.g. {@link #TINYSTORIES_SEPARATOR}; non-empty
     * @param validationFraction held-out tail fraction in [0, 1)
     * @return the dataset
     * @throws IOException if the file cannot be read, is not UTF-8, or exceeds {@link #MAX_FILE_BYTES}
     * @throws IllegalArgumentException if the separator is empty or validationFraction is outside [0, 1)
     */
    public static TextDataset fromDocuments(Path file, Tokenizer tokenizer, String separator, double validationFraction)
            throws IOException {
        checkFraction(validationFraction);
        if (separator.isEmpty()) {
            throw new IllegalArgumentException("separator must not be empty");
        }
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new MalformedDataException(file, "text file of " + size + " bytes exceeds the limit of "
                    + MAX_FILE_BYTES + " bytes");
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new MalformedDataException(file, "not valid UTF-8: " + e, e);
        }
        var parts = new java.util.ArrayList<int[]>();
        long total = 0;
        int from = 0;
        while (from <= text.length()) {
            int at = text.indexOf(separator, from);
            int end = at < 0 ? text.length() : at;
            String doc = text.substring(from, end).strip();
            if (!doc.isEmpty()) {
                int[] ids = tokenizer.encode(doc, true, false);
                parts.add(ids);
                total += ids.length;
            }
            if (at < 0) {
                break;
            }
            from = at + separator.length();
        }
        var all = new int[Math.toIntExact(total)];
        int pos = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, all, pos, p.length);
            pos += p.length;
        }
        return fromTokens(file.toString(), all, validationFraction);
    }

    /**
     * @param text the text
     * @param tokenizer the vocabulary
     * @param validationFraction held-out tail fraction in [0, 1)
     * @return the dataset
     * @throws IllegalArgumentException if validationFraction is outside [0, 1)
     */
    public static TextDataset fromText(String text, Tokenizer tokenizer, double validationFraction) {
        checkFraction(validationFraction);
        return fromTokens("<text>", tokenizer.encodeUtf8(text.getBytes(StandardCharsets.UTF_8), true, false, true),
                validationFraction);
    }

    /**
     * @param source a name for error messages (e.g. the file)
     * @param tokens the token stream (not copied)
     * @param validationFraction held-out tail fraction in [0, 1)
     * @return the dataset
     * @throws IllegalArgumentException if validationFraction is outside [0, 1)
     */
    public static TextDataset fromTokens(String source, int[] tokens, double validationFraction) {
        checkFraction(validationFraction);
        int nVal = (int) Math.round(tokens.length * validationFraction);
        int split = tokens.length - nVal;
        return new TextDataset(source, Arrays.copyOfRange(tokens, 0, split), Arrays.copyOfRange(tokens, split, tokens.length));
    }

    private static void checkFraction(double f) {
        if (!(f >= 0 && f < 1)) {
            throw new IllegalArgumentException("validationFraction must be in [0, 1), got " + f);
        }
    }

    /** @return where the tokens came from (for messages) */
    public String source() {
        return source;
    }

    /** @return a copy of the training tokens */
    public int[] trainTokens() {
        return train.clone();
    }

    /** @return a copy of the validation tokens */
    public int[] validationTokens() {
        return validation.clone();
    }

    /** @return number of training tokens */
    public int trainSize() {
        return train.length;
    }

    /** @return number of validation tokens */
    public int validationSize() {
        return validation.length;
    }

    /**
     * @param batchSize B
     * @param seqLen T
     * @param seed RNG seed; equal seeds give equal batch streams
     * @return an endless stream of random training windows
     * @throws IllegalArgumentException if B or T is below 1, or the training split has fewer than
     *     T + 1 tokens
     */
    public RandomWindows randomBatches(int batchSize, int seqLen, long seed) {
        return new RandomWindows(train, source + " (training split)", batchSize, seqLen, seed);
    }

    /**
     * @param batchSize B (the last batch may have fewer rows)
     * @param seqLen T
     * @return sequential non-overlapping windows over the validation split
     * @throws IllegalArgumentException if B or T is below 1, or the validation split has fewer
     *     than T + 1 tokens
     */
    public SequentialWindows validationBatches(int batchSize, int seqLen) {
        return new SequentialWindows(validation, source + " (validation split)", batchSize, seqLen);
    }

    static void checkWindow(int available, String source, int batchSize, int seqLen) {
        if (batchSize < 1 || seqLen < 1) {
            throw new IllegalArgumentException("batchSize and seqLen must be >= 1, got " + batchSize + " and " + seqLen);
        }
        if (available < (long) seqLen + 1) {
            throw new IllegalArgumentException(source + " has " + available + " tokens, too short for one window of seqLen + 1 = "
                    + ((long) seqLen + 1) + " tokens; use a longer text, a shorter seqLen or another validation fraction");
        }
    }
}
