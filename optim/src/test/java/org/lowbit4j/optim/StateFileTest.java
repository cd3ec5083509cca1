package org.lowbit4j.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;

class StateFileTest {
    @TempDir
    Path dir;

    private static final QuantConfig SMALL = QuantConfig.DEFAULTS.withMinQuantizedSize(64);

    static Function<List<Tensor>, Optimizer> factory(String kind) {
        var opts = UpdateOptions.DEFAULTS.withThreads(2).withStochasticRounding(9);
        var cfg = AdamWConfig.DEFAULTS.withLr(0.01).withWeightDecay(0.05);
        return switch (kind) {
            case "AdamW" -> ps -> new AdamW(ps, cfg, opts);
            case "SGD" -> ps -> new Sgd(ps, new SgdConfig(0.01, 0.9, 0, 0.01, true), opts);
            case "AdamW8bit" -> ps -> new AdamW8bit(ps, cfg, SMALL.withFp32State("emb"), opts);
            case "AdamW4bit" -> ps -> new AdamW4bit(ps, cfg, SMALL.withFp32State("emb"), opts);
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /** A matrix (rank-1 in 4-bit), a large 1-D tensor, a tiny one (fp32 state), an override, a bf16 one. */
    static List<Tensor> params(long seed) {
        Random r = new Random(seed);
        return List.of(TestParams.param("w", r, 40, 70), TestParams.param("v", r, 1000),
                TestParams.param("norm", r, 8), TestParams.param("emb", r, 30, 16),
                Tensor.parameter(TestParams.param(null, r, 300).value().castTo(DataType.BFLOAT16)).named("h"));
    }

    private static void run(Optimizer opt, int from, int to) {
        for (int s = from; s < to; s++) {
            TestParams.setGrads(opt.parameters(), 21, s);
            if (s == 4) {
                opt.parameters().get(1).zeroGrad();
            }
            opt.setLr(0.01 / (1 + s));
            opt.step();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"AdamW", "SGD", "AdamW8bit", "AdamW4bit"})
    void saveAfterKReloadAndContinueIsBitwiseIdentical(String kind) throws IOException {
        var make = factory(kind);
        List<Tensor> straight = params(1);
        Optimizer a = make.apply(straight);
        run(a, 0, 9);

        List<Tensor> first = params(1);
        Optimizer b = make.apply(first);
        run(b, 0, 5);
        Path file = dir.resolve(kind + ".state");
        b.save(file);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file left behind");
        }
        // A fresh process: new parameter objects holding the step-5 values, a new optimizer.
        List<Tensor> resumed = TestParams.copy(first);
        Optimizer c = make.apply(resumed);
        c.load(file);
        assertEquals(5, c.steps());
        assertEquals(b.lr(), c.lr());
        assertEquals(b.stateBytes(), c.stateBytes());
        run(c, 5, 9);
        for (int i = 0; i < straight.size(); i++) {
            assertArrayEquals(TestParams.floats(straight.get(i)), TestParams.floats(resumed.get(i)),
                    kind + " parameter " + straight.get(i).name());
        }
        if (kind.startsWith("AdamW")) {
            var fam = (AdamFamily) c;
            assertEquals(8, fam.parameterSteps(1));
            if (!kind.equals("AdamW")) {
                assertEquals("fp32", fam.stateFormat(2));
                assertEquals("fp32", fam.stateFormat(3));
                assertEquals(kind.equals("AdamW8bit") ? "block8" : "4bit-rank1", fam.stateFormat(0));
            }
        }
    }

    private Path savedAdamW() throws IOException {
        Optimizer o = factory("AdamW").apply(params(3));
        run(o, 0, 2);
        Path file = dir.resolve("a.state");
        o.save(file);
        return file;
    }

    private static String loadError(Optimizer o, Path file) {
        return assertThrows(StateFileException.class, () -> o.load(file)).getMessage();
    }

    @Test
    void loadValidatesKindCountNamesShapesAndHyperparameters() throws IOException {
        Path file = savedAdamW();
        String msg = loadError(factory("AdamW8bit").apply(params(3)), file);
        assertTrue(msg.contains("holds AdamW state, this optimizer is AdamW8bit"), msg);

        msg = loadError(new AdamW(params(3).subList(0, 4), AdamWConfig.DEFAULTS.withLr(0.01).withWeightDecay(0.05)),
                file);
        assertTrue(msg.contains("holds 5 parameters, this optimizer has 4"), msg);

        List<Tensor> renamed = params(3);
        renamed = List.of(renamed.get(0), renamed.get(1).named("bias"), renamed.get(2), renamed.get(3), renamed.get(4));
        msg = loadError(factory("AdamW").apply(renamed), file);
        assertTrue(msg.contains("parameter 1 is 'v' in the file, expected 'bias'"), msg);

        Random r = new Random(3);
        List<Tensor> reshaped = params(3);
        reshaped = List.of(TestParams.param("w", r, 70, 40), reshaped.get(1), reshaped.get(2), reshaped.get(3),
                reshaped.get(4));
        msg = loadError(factory("AdamW").apply(reshaped), file);
        assertTrue(msg.contains("parameter 'w' has shape [40, 70] in the file, expected [70, 40]"), msg);

        msg = loadError(new AdamW(params(3), AdamWConfig.DEFAULTS.withLr(0.01).withWeightDecay(0.1)), file);
        assertTrue(msg.contains("weightDecay is 0.05 in the file, this optimizer has 0.1"), msg);
    }

    @Test
    void corruptOrTruncatedFilesAreRejectedAndChangeNothing() throws IOException {
        Path file = savedAdamW();
        byte[] bytes = Files.readAllBytes(file);
        Optimizer o = factory("AdamW").apply(params(3));
        run(o, 0, 1);
        long before = o.steps();

        byte[] flipped = bytes.clone();
        flipped[bytes.length / 2] ^= 0x10;
        Path bad = dir.resolve("bad.state");
        Files.write(bad, flipped);
        String msg = loadError(o, bad);
        assertTrue(msg.contains("checksum"), msg);

        Files.write(bad, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        msg = loadError(o, bad);
        assertTrue(msg.contains("truncated") || msg.contains("checksum"), msg);

        Files.writeString(bad, "hello, world");
        msg = loadError(o, bad);
        assertTrue(msg.contains("not a lowbit4j optimizer state"), msg);
        assertEquals(before, o.steps());
    }

    @Test
    void fourBitFileFromDifferentThresholdIsRejected() throws IOException {
        Optimizer o = factory("AdamW4bit").apply(params(4));
        run(o, 0, 1);
        Path file = dir.resolve("q.state");
        o.save(file);
        var other = new AdamW4bit(params(4), AdamWConfig.DEFAULTS.withLr(0.01).withWeightDecay(0.05),
                QuantConfig.DEFAULTS, UpdateOptions.DEFAULTS);
        String msg = loadError(other, file);
        assertTrue(msg.contains("parameter 'w': moments stored as 4bit-rank1 in the file, this optimizer keeps fp32"),
                msg);
    }
}
