package org.lowbit4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class Llama2cFormatTest {
    private static final String SHA256 = "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696";
    private static byte[] original;
    private static Llama model;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws Exception {
        original = Files.readAllBytes(TestData.model());
        assertEquals(SHA256, sha256(original), "shared stories260K.bin is not the documented file");
        model = Llama2cFormat.read(TestData.model(), DataType.FLOAT);
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void headerOfStories260K() throws Exception {
        var h = Llama2cFormat.readHeader(TestData.model());
        assertEquals(Llama2cFormat.Version.V0, h.version());
        assertEquals(LlamaConfig.stories260K(), h.config());
        assertEquals(original.length, h.expectedBytes());
        assertEquals(LlamaConfig.stories260K().parameterCount(), model.parameterCount());
    }

    @Test
    void v0RoundTripIsByteIdentical() throws Exception {
        Path out = tmp.resolve("copy.bin");
        Llama2cFormat.writeV0(model, out);
        byte[] written = Files.readAllBytes(out);
        assertEquals(original.length, written.length);
        assertEquals(SHA256, sha256(written));
        assertNoTempFiles();
    }

    @Test
    void v0FromDoubleModelIsByteIdenticalToo() throws Exception {
        // float32 -> float64 -> float32 is exact.
        Llama d = Llama2cFormat.read(TestData.model(), DataType.DOUBLE);
        Path out = tmp.resolve("copy.bin");
        Llama2cFormat.writeV0(d, out);
        assertEquals(SHA256, sha256(Files.readAllBytes(out)));
    }

    @Test
    void v1RoundTripKeepsEveryWeightExactly() throws Exception {
        Path v1 = tmp.resolve("v1.bin");
        Llama2cFormat.writeV1(model, v1);
        var h = Llama2cFormat.readHeader(v1);
        assertEquals(Llama2cFormat.Version.V1, h.version());
        assertEquals(model.config(), h.config());
        Llama back = Llama2cFormat.read(v1, DataType.FLOAT);
        assertSameWeights(model, back, 0.0);
        // v1 header: magic, version, the 7 ints, shared flag at 36, zero padding to 256.
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(v1)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x616b3432, b.getInt(0));
        assertEquals(1, b.getInt(4));
        assertEquals(64, b.getInt(8));
        assertEquals(512, b.getInt(28));
        assertEquals(1, b.get(36));
        for (int i = 37; i < 256; i++) {
            assertEquals(0, b.get(i), "padding byte " + i);
        }
        // the first float after the header is layer 0's attention_norm[0]
        assertEquals(model.namedParameters().get("layers.0.attention_norm.weight").value().getFloat(0), b.getFloat(256));
        // Written back as v0 from a v1-loaded model: same weights, recomputed (unused) RoPE tables.
        Path v0 = tmp.resolve("v0.bin");
        Llama2cFormat.writeV0(back, v0);
        assertSameWeights(model, Llama2cFormat.read(v0, DataType.FLOAT), 0.0);
    }

    @Test
    void recomputedLegacyRopeTablesAreCloseToTheStoredOnes() {
        float[] stored = model.legacyRopeTables();
        float[] recomputed = Llama2cFormat.legacyRopeTables(model.config());
        assertEquals(stored.length, recomputed.length);
        double maxErr = 0;
        for (int i = 0; i < stored.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(stored[i] - recomputed[i]));
        }
        // PyTorch's float32 cos/sin of large angles differ from the double-rounded value by a few ulp.
        assertTrue(maxErr < 1e-4, "max difference " + maxErr);
    }

    @Test
    void v2QuantizedRoundTripIsWithinHalfAStep() throws Exception {
        int gs = Llama2cFormat.defaultGroupSize(model.config());
        assertEquals(4, gs, "64 and 172 share the power of two 4");
        Path v2 = tmp.resolve("q8.bin");
        Llama2cFormat.writeV2(model, v2, gs);
        var h = Llama2cFormat.readHeader(v2);
        assertEquals(Llama2cFormat.Version.V2, h.version());
        assertEquals(gs, h.groupSize());
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(v2)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(2, b.getInt(4));
        assertEquals(gs, b.getInt(37));
        Llama back = Llama2cFormat.read(v2, DataType.FLOAT);
        for (var e : model.namedParameters().entrySet()) {
            float[] a = e.getValue().value().dup().data().asFloat();
            float[] q = back.namedParameters().get(e.getKey()).value().dup().data().asFloat();
            boolean norm = e.getKey().endsWith("norm.weight");
            for (int g = 0; g < a.length / gs; g++) {
                float max = 0;
                for (int i = g * gs; i < (g + 1) * gs; i++) {
                    max = Math.max(max, Math.abs(a[i]));
                }
                float step = max / 127f;
                for (int i = g * gs; i < (g + 1) * gs; i++) {
                    double err = Math.abs(a[i] - q[i]);
                    double bound = norm ? 0 : step * 0.5 * (1 + 1e-5) + 1e-12;
                    assertTrue(err <= bound, e.getKey() + "[" + i + "]: " + a[i] + " -> " + q[i]);
                }
            }
        }
        // Re-quantizing the dequantized model reproduces the same file (Q8_0 is idempotent here).
        Path again = tmp.resolve("q8b.bin");
        Llama2cFormat.writeV2(back, again, gs);
        assertArrayEquals(Files.readAllBytes(v2), Files.readAllBytes(again));
    }

    @Test
    void q80ExactTable() {
        float[] w = {0.5f, -1.27f, 0.005f, 0.3f, 0f, 0f, 0f, 0f, 127f, 0.5f, 1.5f, -2.5f};
        byte[] q = new byte[w.length];
        float[] s = new float[3];
        Llama2cFormat.quantizeQ80(w, 4, q, s);
        assertArrayEquals(new float[] {1.27f / 127f, 0f, 1f}, s);
        // group 2 has scale exactly 1: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2 (round half to even, as torch.round)
        assertArrayEquals(new byte[] {50, -127, 0, 30, 0, 0, 0, 0, 127, 0, 2, -2}, q);
    }

    @Test
    void writeV2RejectsAGroupSizeThatDoesNotDivideHiddenDim() {
        var e = assertThrows(IllegalArgumentException.class, () -> Llama2cFormat.writeV2(model, tmp.resolve("x"), 8));
        assertTrue(e.getMessage().contains("172"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void unsharedClassifierRoundTripsInAllVersions() throws Exception {
        var cfg = new LlamaConfig(16, 24, 2, 4, 2, 40, 8, false);
        Llama m = Llama.random(cfg, DataType.FLOAT, 7);
        Path v0 = tmp.resolve("u0.bin");
        Llama2cFormat.writeV0(m, v0);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(v0)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(-40, b.getInt(20), "v0 marks an unshared classifier with a negative vocab_size");
        assertSameWeights(m, Llama2cFormat.read(v0, DataType.FLOAT), 0.0);
        Path v1 = tmp.resolve("u1.bin");
        Llama2cFormat.writeV1(m, v1);
        assertSameWeights(m, Llama2cFormat.read(v1, DataType.FLOAT), 0.0);
        Path v2 = tmp.resolve("u2.bin");
        Llama2cFormat.writeV2(m, v2, 8);
        Llama q = Llama2cFormat.read(v2, DataType.FLOAT);
        assertFalse(q.config().sharedClassifier());
        assertSameWeights(m, q, 0.02 / 127 * 4 + 1e-6);
        // v0 written twice from a model that never saw a v0 file is deterministic.
        Path again = tmp.resolve("u0b.bin");
        Llama2cFormat.writeV0(m, again);
        assertArrayEquals(Files.readAllBytes(v0), Files.readAllBytes(again));
    }

    // ------------------------------------------------------------- malformed files

    private Path withBytes(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] patchInt(byte[] b, int offset, int value) {
        byte[] c = b.clone();
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return c;
    }

    private static String failure(Path p) {
        var e = assertThrows(CheckpointFormatException.class, () -> Llama2cFormat.read(p, DataType.FLOAT));
        assertTrue(e.getMessage().startsWith(p.toString()), "message names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void truncatedFileNamesExpectedAndActualBytes() throws Exception {
        Path p = withBytes("trunc.bin", java.util.Arrays.copyOf(original, original.length - 100));
        String m = failure(p);
        assertTrue(m.contains("truncated"), m);
        assertTrue(m.contains(Integer.toString(original.length)), m);
        assertTrue(m.contains(Integer.toString(original.length - 100)), m);
    }

    @Test
    void trailingBytesAreReported() throws Exception {
        Path p = withBytes("long.bin", java.util.Arrays.copyOf(original, original.length + 8));
        String m = failure(p);
        assertTrue(m.contains("8 trailing bytes") && m.contains(Integer.toString(original.length)), m);
    }

    @Test
    void dimsThatDisagreeWithTheFileSize() throws Exception {
        Path p = withBytes("dims.bin", patchInt(original, 4, 176)); // hidden_dim 172 -> 176
        String m = failure(p);
        assertTrue(m.contains("hidden_dim=176"), m);
        long expected = Llama2cFormat.expectedBytes(Llama2cFormat.Version.V0,
                new LlamaConfig(64, 176, 5, 8, 4, 512, 512, true), 0);
        assertTrue(m.contains(expected + " bytes") && m.contains(original.length + " bytes"), m);
    }

    @Test
    void negativeAndAbsurdSizes() throws Exception {
        String m = failure(withBytes("neg.bin", patchInt(original, 0, -64)));
        assertTrue(m.contains("dim = -64") && m.contains("expected 1.."), m);
        m = failure(withBytes("absurd.bin", patchInt(original, 8, 1_000_000_000)));
        assertTrue(m.contains("n_layers = 1000000000") && m.contains("expected 1..1024"), m);
        m = failure(withBytes("seq.bin", patchInt(original, 24, Integer.MAX_VALUE)));
        assertTrue(m.contains("seq_len = " + Integer.MAX_VALUE), m);
        m = failure(withBytes("vocab.bin", patchInt(original, 20, Integer.MIN_VALUE)));
        assertTrue(m.contains("vocab_size"), m);
        // dims that pass the range check but not the model's rules
        m = failure(withBytes("heads.bin", patchInt(original, 12, 7)));
        assertTrue(m.contains("nHeads (7)"), m);
    }

    @Test
    void tooShortAndBadVersion() throws Exception {
        String m = failure(withBytes("short.bin", new byte[10]));
        assertTrue(m.contains("10 bytes") && m.contains("28"), m);
        Path v1 = tmp.resolve("v1.bin");
        Llama2cFormat.writeV1(model, v1);
        byte[] b = Files.readAllBytes(v1);
        m = failure(withBytes("v9.bin", patchInt(b, 4, 9)));
        assertTrue(m.contains("version 9"), m);
        m = failure(withBytes("v1short.bin", java.util.Arrays.copyOf(b, 100)));
        assertTrue(m.contains("100 bytes") && m.contains("256"), m);
        m = failure(withBytes("v1trunc.bin", java.util.Arrays.copyOf(b, b.length - 1)));
        assertTrue(m.contains("truncated") && m.contains(b.length + " bytes"), m);
    }

    @Test
    void writingReplacesAtomicallyAndLeavesNoTempFile() throws Exception {
        Path p = tmp.resolve("m.bin");
        Files.write(p, new byte[] {1, 2, 3});
        Llama2cFormat.writeV0(model, p);
        assertEquals(SHA256, sha256(Files.readAllBytes(p)));
        assertNoTempFiles();
    }

    private void assertNoTempFiles() throws IOException {
        try (var s = Files.list(tmp)) {
            List<Path> temps = s.filter(f -> f.toString().endsWith(".tmp")).toList();
            assertTrue(temps.isEmpty(), "left-over temp files " + temps);
        }
    }

    static void assertSameWeights(Llama a, Llama b, double tol) {
        Map<String, Tensor> pa = a.namedParameters();
        Map<String, Tensor> pb = b.namedParameters();
        assertEquals(pa.keySet().stream().toList(), pb.keySet().stream().toList());
        for (var e : pa.entrySet()) {
            INDArray x = e.getValue().value();
            INDArray y = pb.get(e.getKey()).value();
            assertArrayEquals(x.shape(), y.shape(), e.getKey());
            double diff = x.castTo(DataType.DOUBLE).sub(y.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
            assertTrue(diff <= tol, e.getKey() + " differs by " + diff);
        }
    }
}
