package org.lowbit4j.datasets.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lowbit4j.datasets.SharedData;
import org.lowbit4j.datasets.TokenBatch;
import org.lowbit4j.datasets.Tokenizer;
import org.nd4j.linalg.api.buffer.DataType;

class TextDatasetTest {
    static Tokenizer tok;
    static TextDataset stories;
    static int[] all;

    @BeforeAll
    static void load() throws IOException {
        tok = Tokenizer.load(SharedData.file("models/tok512.bin"), 512);
        var file = SharedData.file("text/tinystories_sample.txt");
        stories = TextDataset.fromFile(file, tok);
        all = tok.encode(Files.readString(file), true, false);
    }

    @Test
    void wholeTextEncodedOnceWithBosThenTailSplit() {
        int n = all.length;
        assertEquals(Tokenizer.BOS, all[0]);
        assertEquals(Math.round(n * 0.1), stories.validationSize());
        assertEquals(n, stories.trainSize() + stories.validationSize());
        int[] joined = IntStream.concat(Arrays.stream(stories.trainTokens()), Arrays.stream(stories.validationTokens())).toArray();
        assertArrayEquals(all, joined);
        var none = TextDataset.fromTokens("x", all, 0.0);
        assertEquals(n, none.trainSize());
        assertEquals(0, none.validationSize());
        assertThrows(IllegalArgumentException.class, () -> TextDataset.fromTokens("x", all, 1.0));
        assertThrows(IllegalArgumentException.class, () -> TextDataset.fromTokens("x", all, -0.1));
    }

    @Test
    void randomWindowsAreSeededContiguousTrainingWindows() {
        int[] train = stories.trainTokens();
        var a = stories.randomBatches(4, 16, 7);
        var b = stories.randomBatches(4, 16, 7);
        var c = stories.randomBatches(4, 16, 8);
        boolean differs = false;
        for (int step = 0; step < 20; step++) {
            TokenBatch x = a.next();
            TokenBatch y = b.next();
            TokenBatch z = c.next();
            assertArrayEquals(x.inputs(), y.inputs());
            assertArrayEquals(x.targets(), y.targets());
            differs |= !Arrays.equals(x.inputs(), z.inputs());
            assertEquals(64, x.targetCount());
            for (int r = 0; r < 4; r++) {
                int[] window = new int[17];
                for (int t = 0; t < 16; t++) {
                    window[t] = x.input(r, t);
                    if (t < 15) {
                        assertEquals(x.input(r, t + 1), x.target(r, t));
                    }
                }
                window[16] = x.target(r, 15);
                assertTrue(occursIn(train, window), "row " + r + " is a window of the training split");
            }
        }
        assertTrue(differs, "another seed gives other batches");
    }

    static boolean occursIn(int[] hay, int[] needle) {
        outer:
        for (int s = 0; s + needle.length <= hay.length; s++) {
            for (int i = 0; i < needle.length; i++) {
                if (hay[s + i] != needle[i]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Test
    void validationWindowsCoverTheTailOnceInOrder() {
        int[] val = stories.validationTokens();
        int seqLen = 10;
        var windows = stories.validationBatches(3, seqLen);
        assertEquals((val.length - 1) / seqLen, windows.windowCount());
        int row = 0;
        int batches = 0;
        for (var batch : windows) {
            batches++;
            assertTrue(batch.batchSize() <= 3);
            for (int r = 0; r < batch.batchSize(); r++, row++) {
                for (int t = 0; t < seqLen; t++) {
                    assertEquals(val[row * seqLen + t], batch.input(r, t));
                    assertEquals(val[row * seqLen + t + 1], batch.target(r, t));
                }
            }
        }
        assertEquals(windows.windowCount(), row);
        assertEquals((windows.windowCount() + 2) / 3, batches);
        // Iterable again, same content.
        assertArrayEquals(windows.iterator().next().inputs(), windows.iterator().next().inputs());
    }

    @Test
    void tooShortTextIsAClearError() {
        var tiny = TextDataset.fromText("Once upon a time", tok, 0.1);
        var e = assertThrows(IllegalArgumentException.class, () -> tiny.randomBatches(2, 64, 1));
        assertTrue(e.getMessage().contains("too short for one window of seqLen + 1 = 65"), e.getMessage());
        assertTrue(e.getMessage().contains("training split"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> tiny.validationBatches(2, 4));
        assertTrue(e.getMessage().contains("validation split"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> stories.randomBatches(0, 4, 1));
    }

    @Test
    void documentsEachGetABos() throws IOException {
        var file = SharedData.file("text/tinystories_sample.txt");
        String text = Files.readString(file);
        var docs = Arrays.stream(text.split(java.util.regex.Pattern.quote(TextDataset.TINYSTORIES_SEPARATOR)))
                .map(String::strip).filter(d -> !d.isEmpty()).toList();
        assertEquals(5, docs.size(), "5 stories, each followed by the separator");
        var ds = TextDataset.fromDocuments(file, tok, TextDataset.TINYSTORIES_SEPARATOR, 0.0);
        int[] ids = ds.trainTokens();
        int[] expected = docs.stream().flatMapToInt(d -> IntStream.of(tok.encode(d, true, false))).toArray();
        assertArrayEquals(expected, ids);
        assertEquals(5, IntStream.of(ids).filter(t -> t == Tokenizer.BOS).count());
        assertEquals(String.join("", docs), tok.decode(ids), "BOS strips each document's dummy space");
    }

    @Test
    void largeCorpusRoundTripsThroughTheFastEncoder() throws IOException {
        var file = SharedData.file("text/tinyshakespeare.txt");
        String text = Files.readString(file);
        var ds = TextDataset.fromFile(file, tok, 0.1);
        int[] joined = IntStream.concat(Arrays.stream(ds.trainTokens()), Arrays.stream(ds.validationTokens())).toArray();
        assertEquals(text, tok.decode(joined));
        assertTrue(joined.length < text.length() * 0.7, "merges happened: " + joined.length + " tokens");
    }

    @Test
    void batchesConvertToInt32Arrays() {
        var batch = stories.randomBatches(2, 5, 3).next();
        var in = batch.inputsArray();
        var tg = batch.targetsArray();
        assertArrayEquals(new long[] {2, 5}, in.shape());
        assertEquals(DataType.INT32, in.dataType());
        assertEquals(batch.input(1, 4), in.getInt(1, 4));
        assertEquals(batch.target(1, 2), tg.getInt(1, 2));
        assertEquals('c', in.ordering());
    }
}
