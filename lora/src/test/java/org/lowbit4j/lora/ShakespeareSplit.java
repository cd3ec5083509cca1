package org.lowbit4j.lora;

import java.io.IOException;
import org.lowbit4j.datasets.SharedData;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.datasets.text.TextDataset;

/**
 * The QLoRA tests' data: tinyshakespeare under stories260K's 512-token tokenizer, and its first
 * {@link #VALIDATION_TOKENS} held-out tokens behind a BOS (the perplexity protocol of {@code eval}).
 *
 * @param tok the tokenizer
 * @param data the training and validation split
 * @param validation BOS followed by {@link #VALIDATION_TOKENS} validation tokens
 */
record ShakespeareSplit(Tokenizer tok, TextDataset data, int[] validation) {
    static final int VALIDATION_TOKENS = 8192;

    /** @throws IOException if a shared data file cannot be read */
    static ShakespeareSplit load() throws IOException {
        Tokenizer tok = Tokenizer.load(SharedData.file("models/tok512.bin"), 512);
        TextDataset data = TextDataset.fromFile(SharedData.file("text/tinyshakespeare.txt"), tok);
        int[] val = new int[VALIDATION_TOKENS + 1];
        val[0] = Tokenizer.BOS;
        System.arraycopy(data.validationTokens(), 0, val, 1, VALIDATION_TOKENS);
        return new ShakespeareSplit(tok, data, val);
    }
}
