package org.lowbit4j.datasets.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.lowbit4j.datasets.Tokenizer;

/**
 * Encode/decode throughput of {@link Tokenizer} on tinyshakespeare.txt with the 512- and
 * 32000-token vocabularies. Prints one Markdown table row per vocabulary (median of 5 timed runs
 * after 2 warm-ups).
 *
 * <p>Usage: {@code TokenizerBenchmark [sharedDataDir]} (default {@code ../shared/data}).
 */
public final class TokenizerBenchmark {
    private TokenizerBenchmark() {
    }

    /**
     * @param args optional shared data directory
     * @throws IOException if a data file cannot be read
     */
    public static void main(String[] args) throws IOException {
        Path data = Path.of(args.length > 0 ? args[0] : "../shared/data");
        byte[] text = Files.readAllBytes(data.resolve("text/tinyshakespeare.txt"));
        System.out.println("| vocabulary | input bytes | tokens | encode MB/s | encode Mtok/s | decode Mtok/s |");
        System.out.println("| --- | --- | --- | --- | --- | --- |");
        row("tok512.bin (512)", Tokenizer.load(data.resolve("models/tok512.bin"), 512), text);
        row("tokenizer32k.bin (32000)", Tokenizer.load(data.resolve("models/tokenizer32k.bin"), 32000), text);
    }

    private static void row(String name, Tokenizer tok, byte[] text) {
        int[] tokens = tok.encodeUtf8(text, true, false, true);
        var enc = new double[5];
        var dec = new double[5];
        for (int run = -2; run < 5; run++) {
            long t0 = System.nanoTime();
            int[] ids = tok.encodeUtf8(text, true, false, true);
            long t1 = System.nanoTime();
            String s = tok.decode(ids);
            long t2 = System.nanoTime();
            if (ids.length != tokens.length || s.isEmpty()) {
                throw new IllegalStateException("non-deterministic encode");
            }
            if (run >= 0) {
                enc[run] = (t1 - t0) / 1e9;
                dec[run] = (t2 - t1) / 1e9;
            }
        }
        Arrays.sort(enc);
        Arrays.sort(dec);
        System.out.printf("| %s | %d | %d | %.1f | %.2f | %.2f |%n", name, text.length, tokens.length,
                text.length / enc[2] / 1e6, tokens.length / enc[2] / 1e6, tokens.length / dec[2] / 1e6);
    }
}
