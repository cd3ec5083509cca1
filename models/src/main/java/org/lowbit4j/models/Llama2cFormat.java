package org.lowbit4j.models;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * llama2.c checkpoint files (all little-endian; layouts in shared/data/README.md):
 * <ul>
 *   <li><b>v0</b> (legacy {@code run.c} format): 7 int32 header, fp32 weights grouped by kind, two
 *       legacy RoPE tables after {@code rms_final}, then {@code wcls} if not shared (negative
 *       vocab_size in the header).</li>
 *   <li><b>v1</b>: 256-byte header (magic {@code "ak42"}, version 1, the 7 ints, shared flag), fp32
 *       weights, norms first.</li>
 *   <li><b>v2</b> (Q8_0, {@code runq.c}): as v1 with version 2 and an int32 group size at byte 37;
 *       fp32 norms, then per tensor its int8 values followed by one fp32 scale per group.</li>
 * </ul>
 *
 * <p>Reading checks the header against the file length before anything is allocated. Writing goes
 * to a temporary file in the target directory which is then moved into place atomically.
 *
 * <p>v0 files end their weights with two RoPE tables ({@code cos}, {@code sin}, each
 * {@code [seq_len, head_size/2]}) that no reader uses; PyTorch computed them in float32 and the
 * bits cannot be reproduced exactly in Java, so {@link #read} keeps them with the model and
 * {@link #writeV0} writes them back verbatim (byte-identical round trip). A model that did not come
 * from a v0 file gets tables recomputed as cos/sin of a float32 angle.
 */
public final class Llama2cFormat {
    /** {@code "ak42"} read as a little-endian uint32. */
    public static final int MAGIC = 0x616b3432;
    /** Header length of v1 and v2 files. */
    public static final int V1_HEADER_BYTES = 256;
    /** Header length of v0 files: 7 int32. */
    public static final int V0_HEADER_BYTES = 28;

    // Limits that reject absurd headers (a corrupt or foreign file) before any size arithmetic.
    static final int MAX_DIM = 1 << 16;
    static final int MAX_HIDDEN = 1 << 18;
    static final int MAX_LAYERS = 1 << 10;
    static final int MAX_HEADS = 1 << 10;
    static final int MAX_VOCAB = 1 << 22;
    static final int MAX_SEQ = 1 << 22;
    /** Largest Java array we fill in one piece. */
    static final long MAX_TENSOR_ELEMENTS = Integer.MAX_VALUE - 8;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Llama2cFormat() {
    }

    /** The three llama2.c layouts. */
    public enum Version {
        /** Legacy fp32 layout with a 28-byte header. */
        V0,
        /** fp32 with a 256-byte header. */
        V1,
        /** int8 Q8_0 weights, fp32 norms and scales. */
        V2
    }

    /**
     * What a header says.
     *
     * @param version the layout
     * @param config the model configuration (normEps and ropeTheta are llama2.c's defaults)
     * @param groupSize Q8_0 group size for v2, 0 otherwise
     * @param expectedBytes the exact file length the header implies
     */
    public record Header(Version version, LlamaConfig config, int groupSize, long expectedBytes) {
        /** @throws IllegalArgumentException for a non-positive size or a v2 header without a group size */
        public Header {
            if (expectedBytes <= 0) {
                throw new IllegalArgumentException("expectedBytes must be > 0, got " + expectedBytes);
            }
            if ((version == Version.V2) != (groupSize > 0)) {
                throw new IllegalArgumentException("groupSize " + groupSize + " does not fit version " + version);
            }
        }
    }

    // ------------------------------------------------------------------ reading

    /**
     * Reads and validates the header, including that the file has exactly the implied length.
     *
     * @throws CheckpointFormatException naming the file and the expected vs actual value
     * @throws IOException if the file cannot be read
     */
    public static Header readHeader(Path file) throws IOException {
        long size = Files.size(file);
        if (size < V0_HEADER_BYTES) {
            throw new CheckpointFormatException(file, "file is " + size + " bytes, too short for a llama2.c header"
                    + " (expected at least " + V0_HEADER_BYTES + " bytes)");
        }
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(size, V1_HEADER_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (head.hasRemaining() && ch.read(head) >= 0) {
                // keep reading until the header buffer is full
            }
        }
        head.flip();
        Version version;
        int base;
        boolean shared;
        int groupSize = 0;
        if (head.getInt(0) == MAGIC) {
            if (size < V1_HEADER_BYTES) {
                throw new CheckpointFormatException(file, "file starts with the v1/v2 magic but is " + size
                        + " bytes, too short for the " + V1_HEADER_BYTES + "-byte header");
            }
            int v = head.getInt(4);
            version = switch (v) {
                case 1 -> Version.V1;
                case 2 -> Version.V2;
                default -> throw new CheckpointFormatException(file, "unsupported llama2.c version " + v
                        + " (expected 1 or 2 after the magic)");
            };
            base = 8;
            int flag = head.get(36) & 0xff;
            if (flag > 1) {
                throw new CheckpointFormatException(file, "shared_classifier byte at offset 36 is " + flag
                        + " (expected 0 or 1)");
            }
            shared = flag == 1;
            if (version == Version.V2) {
                groupSize = head.getInt(37);
            }
        } else {
            version = Version.V0;
            base = 0;
            shared = head.getInt(20) > 0;
        }
        int dim = field(file, "dim", head.getInt(base), MAX_DIM);
        int hidden = field(file, "hidden_dim", head.getInt(base + 4), MAX_HIDDEN);
        int layers = field(file, "n_layers", head.getInt(base + 8), MAX_LAYERS);
        int heads = field(file, "n_heads", head.getInt(base + 12), MAX_HEADS);
        int kvHeads = field(file, "n_kv_heads", head.getInt(base + 16), MAX_HEADS);
        int rawVocab = head.getInt(base + 20);
        if (version != Version.V0 && rawVocab < 0) {
            throw new CheckpointFormatException(file, "header field vocab_size = " + rawVocab
                    + " is negative, which only v0 allows (expected 1.." + MAX_VOCAB + ")");
        }
        int vocab = field(file, "vocab_size", rawVocab == Integer.MIN_VALUE ? 0 : Math.abs(rawVocab), MAX_VOCAB);
        int seq = field(file, "seq_len", head.getInt(base + 24), MAX_SEQ);
        LlamaConfig config;
        try {
            config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, seq, shared);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, "inconsistent header: " + e.getMessage(), e);
        }
        if (version == Version.V2 && (groupSize <= 0 || dim % groupSize != 0 || hidden % groupSize != 0)) {
            throw new CheckpointFormatException(file, "v2 group_size = " + groupSize
                    + " must be positive and divide dim (" + dim + ") and hidden_dim (" + hidden + ")");
        }
        long expected = expectedBytes(version, config, groupSize);
        checkTensorSizes(file, config);
        if (size != expected) {
            String what = size < expected ? "truncated" : "has " + (size - expected) + " trailing bytes";
            throw new CheckpointFormatException(file, "file " + what + ": header (" + version + ", " + describe(config)
                    + (groupSize > 0 ? ", group_size=" + groupSize : "") + ") implies " + expected
                    + " bytes, but the file has " + size + " bytes");
        }
        return new Header(version, config, groupSize, expected);
    }

    /**
     * Loads a v0, v1 or v2 file (v2 is dequantized: {@code w = q * scale} in float32 as runq.c).
     *
     * @param dataType FLOAT or DOUBLE (weights widened exactly)
     * @return a model holding the file's weights, with llama2.c's normEps and ropeTheta
     * @throws CheckpointFormatException for a malformed file (see {@link #readHeader})
     */
    public static Llama read(Path file, DataType dataType) throws IOException {
        Header h = readHeader(file);
        LlamaConfig c = h.config();
        Llama model = new Llama(c, dataType);
        var p = new Params(model, file);
        int l = c.nLayers();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, h.expectedBytes(), arena);
            var in = new Cursor(seg, h.version() == Version.V0 ? V0_HEADER_BYTES : V1_HEADER_BYTES);
            switch (h.version()) {
                case V0 -> {
                    p.set("tok_embeddings.weight", in.floats(p.length("tok_embeddings.weight")));
                    p.setLayers("attention_norm.weight", in);
                    p.setLayers("attention.wq.weight", in);
                    p.setLayers("attention.wk.weight", in);
                    p.setLayers("attention.wv.weight", in);
                    p.setLayers("attention.wo.weight", in);
                    p.setLayers("ffn_norm.weight", in);
                    p.setLayers("feed_forward.w1.weight", in);
                    p.setLayers("feed_forward.w2.weight", in);
                    p.setLayers("feed_forward.w3.weight", in);
                    p.set("norm.weight", in.floats(c.dim()));
                    model.legacyRopeTables(in.floats(c.maxSeqLen() * c.headSize()));
                    if (!c.sharedClassifier()) {
                        p.set("output.weight", in.floats(p.length("output.weight")));
                    }
                }
                case V1 -> {
                    p.setLayers("attention_norm.weight", in);
                    p.setLayers("ffn_norm.weight", in);
                    p.set("norm.weight", in.floats(c.dim()));
                    p.set("tok_embeddings.weight", in.floats(p.length("tok_embeddings.weight")));
                    for (String name : LAYER_MATRICES) {
                        p.setLayers(name, in);
                    }
                    if (!c.sharedClassifier()) {
                        p.set("output.weight", in.floats(p.length("output.weight")));
                    }
                }
                case V2 -> {
                    p.setLayers("attention_norm.weight", in);
                    p.setLayers("ffn_norm.weight", in);
                    p.set("norm.weight", in.floats(c.dim()));
                    int gs = h.groupSize();
                    p.set("tok_embeddings.weight", in.q80(p.length("tok_embeddings.weight"), gs));
                    for (String name : LAYER_MATRICES) {
                        for (int i = 0; i < l; i++) {
                            String full = "layers." + i + "." + name;
                            p.set(full, in.q80(p.length(full), gs));
                        }
                    }
                    if (!c.sharedClassifier()) {
                        p.set("output.weight", in.q80(p.length("output.weight"), gs));
                    }
                }
            }
            if (in.position() != h.expectedBytes()) {
                throw new IllegalStateException("internal: read " + in.position() + " of " + h.expectedBytes() + " bytes");
            }
        }
        return model;
    }

    private static final List<String> LAYER_MATRICES = List.of("attention.wq.weight", "attention.wk.weight",
            "attention.wv.weight", "attention.wo.weight", "feed_forward.w1.weight", "feed_forward.w2.weight",
            "feed_forward.w3.weight");

    private static int field(Path file, String name, int value, int max) throws CheckpointFormatException {
        if (value <= 0 || value > max) {
            throw new CheckpointFormatException(file, "header field " + name + " = " + value
                    + " is out of range (expected 1.." + max + ")");
        }
        return value;
    }

    private static void checkTensorSizes(Path file, LlamaConfig c) throws CheckpointFormatException {
        long[] sizes = {(long) c.vocabSize() * c.dim(), (long) c.dim() * c.dim(), (long) c.hiddenDim() * c.dim()};
        for (long n : sizes) {
            if (n > MAX_TENSOR_ELEMENTS) {
                throw new CheckpointFormatException(file, "a tensor of " + n + " elements exceeds this loader's limit of "
                        + MAX_TENSOR_ELEMENTS + " (" + describe(c) + ")");
            }
        }
    }

    static String describe(LlamaConfig c) {
        return "dim=" + c.dim() + ", hidden_dim=" + c.hiddenDim() + ", n_layers=" + c.nLayers() + ", n_heads="
                + c.nHeads() + ", n_kv_heads=" + c.nKvHeads() + ", vocab_size=" + c.vocabSize() + ", seq_len="
                + c.maxSeqLen() + ", shared_classifier=" + c.sharedClassifier();
    }

    /**
     * @return the exact file length of a checkpoint of this layout and configuration
     * @throws ArithmeticException on overflow (impossible within the header limits)
     */
    public static long expectedBytes(Version version, LlamaConfig c, int groupSize) {
        long d = c.dim();
        long l = c.nLayers();
        long norms = l * d * 2 + d;
        long emb = (long) c.vocabSize() * d;
        long perLayer = d * d * 2 + 2L * c.kvDim() * d + 3L * c.hiddenDim() * d;
        long matrices = emb + l * perLayer + (c.sharedClassifier() ? 0 : emb);
        return switch (version) {
            case V0 -> V0_HEADER_BYTES + 4 * (norms + matrices + (long) c.maxSeqLen() * c.headSize());
            case V1 -> V1_HEADER_BYTES + 4 * (norms + matrices);
            case V2 -> V1_HEADER_BYTES + 4 * norms + matrices + 4 * (matrices / groupSize);
        };
    }

    /** Sequential little-endian reader over a mapped file. */
    private static final class Cursor {
        private final MemorySegment seg;
        private long pos;

        Cursor(MemorySegment seg, long pos) {
            this.seg = seg;
            this.pos = pos;
        }

        float[] floats(int n) {
            float[] out = new float[n];
            MemorySegment.copy(seg, F32, pos, out, 0, n);
            pos += 4L * n;
            return out;
        }

        /** n int8 values then n/gs fp32 scales, dequantized as runq.c: {@code q[i] * s[i / gs]}. */
        float[] q80(int n, int gs) {
            byte[] q = new byte[n];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, q, 0, n);
            pos += n;
            float[] s = floats(n / gs);
            float[] out = new float[n];
            for (int i = 0; i < n; i++) {
                out[i] = q[i] * s[i / gs];
            }
            return out;
        }

        long position() {
            return pos;
        }
    }

    /** Parameter access by full name with clear errors. */
    private record Params(Llama model, java.util.Map<String, Tensor> byName, Path file) {
        Params(Llama model, Path file) {
            this(model, model.namedParameters(), file);
        }

        Tensor get(String name) {
            Tensor t = byName.get(name);
            if (t == null) {
                throw new IllegalArgumentException("model has no parameter '" + name + "' (was a layer replaced? merge"
                        + " adapters before export); file " + file);
            }
            return t;
        }

        int length(String name) {
            return Math.toIntExact(get(name).value().length());
        }

        void set(String name, float[] data) {
            Tensor t = get(name);
            INDArray src = Nd4j.create(data, t.shape(), 'c');
            t.value().assign(t.dataType() == DataType.FLOAT ? src : src.castTo(t.dataType()));
        }

        void setLayers(String suffix, Cursor in) {
            for (int i = 0; i < model.config().nLayers(); i++) {
                String name = "layers." + i + "." + suffix;
                set(name, in.floats(length(name)));
            }
        }

        float[] floats(String name) {
            INDArray v = get(name).value();
            INDArray f = v.castTo(DataType.FLOAT).dup('c');
            float[] out = f.data().asFloat();
            if (out.length != v.length()) {
                out = java.util.Arrays.copyOf(out, (int) v.length());
            }
            return out;
        }
    }

    // ------------------------------------------------------------------ writing

    /** Writes the legacy v0 layout (see the class comment on its RoPE tables). */
    public static void writeV0(Llama model, Path file) throws IOException {
        write(model, file, Version.V0, 0);
    }

    /** Writes the v1 layout. */
    public static void writeV1(Llama model, Path file) throws IOException {
        write(model, file, Version.V1, 0);
    }

    /**
     * Writes the v2 (Q8_0) layout: per group of {@code groupSize} consecutive values,
     * {@code scale = max|w| / 127} (float32) and {@code q = round_half_even(w / scale)}, as llama2.c's
     * {@code export.py}; an all-zero group gets scale 0 and zeros.
     *
     * @param groupSize positive, dividing dim and hidden_dim (see {@link #defaultGroupSize})
     * @throws IllegalArgumentException for a group size that does not divide both
     */
    public static void writeV2(Llama model, Path file, int groupSize) throws IOException {
        LlamaConfig c = model.config();
        if (groupSize <= 0 || c.dim() % groupSize != 0 || c.hiddenDim() % groupSize != 0) {
            throw new IllegalArgumentException("group size " + groupSize + " must be positive and divide dim ("
                    + c.dim() + ") and hidden_dim (" + c.hiddenDim() + ")");
        }
        write(model, file, Version.V2, groupSize);
    }

    /**
     * @return the largest power of two &le; 64 dividing both dim and hidden_dim (llama2.c starts at
     *     64 and halves while dim is not divisible; runq.c's matmul also needs hidden_dim divisible)
     */
    public static int defaultGroupSize(LlamaConfig c) {
        int gs = 64;
        while (c.dim() % gs != 0 || c.hiddenDim() % gs != 0) {
            gs /= 2;
        }
        return gs;
    }

    private static void write(Llama model, Path file, Version version, int groupSize) throws IOException {
        LlamaConfig c = model.config();
        var p = new Params(model, file);
        // Gather every chunk first so that a missing parameter fails before a byte is written.
        List<float[]> norms = new ArrayList<>();
        for (String kind : List.of("attention_norm.weight", "ffn_norm.weight")) {
            for (int i = 0; i < c.nLayers(); i++) {
                norms.add(p.floats("layers." + i + "." + kind));
            }
        }
        norms.add(p.floats("norm.weight"));
        List<float[]> matrices = new ArrayList<>();
        matrices.add(p.floats("tok_embeddings.weight"));
        for (String name : LAYER_MATRICES) {
            for (int i = 0; i < c.nLayers(); i++) {
                matrices.add(p.floats("layers." + i + "." + name));
            }
        }
        float[] wcls = c.sharedClassifier() ? null : p.floats("output.weight");

        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try {
            try (var out = new LeWriter(FileChannel.open(tmp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING))) {
                int vocabField = c.vocabSize();
                if (version == Version.V0) {
                    vocabField = c.sharedClassifier() ? c.vocabSize() : -c.vocabSize();
                } else {
                    out.putInt(MAGIC);
                    out.putInt(version == Version.V1 ? 1 : 2);
                }
                for (int v : new int[] {c.dim(), c.hiddenDim(), c.nLayers(), c.nHeads(), c.nKvHeads(), vocabField,
                        c.maxSeqLen()}) {
                    out.putInt(v);
                }
                switch (version) {
                    case V0 -> writeV0Body(out, model, p, c, wcls);
                    case V1 -> {
                        out.putByte(c.sharedClassifier() ? 1 : 0);
                        out.padTo(V1_HEADER_BYTES);
                        for (float[] a : norms) {
                            out.putFloats(a);
                        }
                        for (float[] a : matrices) {
                            out.putFloats(a);
                        }
                        if (wcls != null) {
                            out.putFloats(wcls);
                        }
                    }
                    case V2 -> {
                        out.putByte(c.sharedClassifier() ? 1 : 0);
                        out.putInt(groupSize);
                        out.padTo(V1_HEADER_BYTES);
                        for (float[] a : norms) {
                            out.putFloats(a);
                        }
                        for (float[] m : matrices) {
                            writeQ80(out, m, groupSize);
                        }
                        if (wcls != null) {
                            writeQ80(out, wcls, groupSize);
                        }
                    }
                }
                long expected = expectedBytes(version, c, groupSize);
                if (out.position() != expected) {
                    throw new IllegalStateException("internal: wrote " + out.position() + " bytes, expected " + expected);
                }
                out.force();
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeV0Body(LeWriter out, Llama model, Params p, LlamaConfig c, float[] wcls)
            throws IOException {
        out.putFloats(p.floats("tok_embeddings.weight"));
        for (String name : List.of("attention_norm.weight", "attention.wq.weight", "attention.wk.weight",
                "attention.wv.weight", "attention.wo.weight", "ffn_norm.weight", "feed_forward.w1.weight",
                "feed_forward.w2.weight", "feed_forward.w3.weight")) {
            for (int i = 0; i < c.nLayers(); i++) {
                out.putFloats(p.floats("layers." + i + "." + name));
            }
        }
        out.putFloats(p.floats("norm.weight"));
        float[] tables = model.legacyRopeTables();
        if (tables == null || tables.length != c.maxSeqLen() * c.headSize()) {
            tables = legacyRopeTables(c);
        }
        out.putFloats(tables);
        if (wcls != null) {
            out.putFloats(wcls);
        }
    }

    /**
     * The legacy v0 tables recomputed: {@code freq_i = 1 / theta^(2i/D)} and {@code angle = t * freq_i}
     * in float32 as PyTorch did, then cos and sin rounded from double.
     *
     * @return cos table then sin table, each [maxSeqLen, D/2] row-major
     */
    static float[] legacyRopeTables(LlamaConfig c) {
        int half = c.headSize() / 2;
        int n = c.maxSeqLen() * half;
        float[] out = new float[2 * n];
        float theta = (float) c.ropeTheta();
        for (int i = 0; i < half; i++) {
            float freq = 1.0f / (float) Math.pow(theta, (float) (2 * i) / (float) c.headSize());
            for (int t = 0; t < c.maxSeqLen(); t++) {
                float angle = t * freq;
                out[t * half + i] = (float) Math.cos(angle);
                out[n + t * half + i] = (float) Math.sin(angle);
            }
        }
        return out;
    }

    private static void writeQ80(LeWriter out, float[] w, int gs) throws IOException {
        int groups = w.length / gs;
        byte[] q = new byte[w.length];
        float[] s = new float[groups];
        quantizeQ80(w, gs, q, s);
        out.putBytes(q);
        out.putFloats(s);
    }

    /**
     * Q8_0 quantization of consecutive groups, float32 arithmetic as llama2.c's {@code export.py}.
     *
     * @param w values, length a multiple of gs
     * @param q out: int8 values in [-127, 127]
     * @param s out: one scale per group
     */
    static void quantizeQ80(float[] w, int gs, byte[] q, float[] s) {
        for (int g = 0; g < s.length; g++) {
            float wmax = 0f;
            for (int i = g * gs; i < (g + 1) * gs; i++) {
                wmax = Math.max(wmax, Math.abs(w[i]));
            }
            float scale = wmax / 127.0f;
            s[g] = scale;
            for (int i = g * gs; i < (g + 1) * gs; i++) {
                // NOTE: a zero group would divide 0 by 0 (NaN in PyTorch); we write zeros instead.
                float v = scale == 0f ? 0f : w[i] / scale;
                q[i] = (byte) Math.max(-127, Math.min(127, Math.rint(v)));
            }
        }
    }

    /** Buffered little-endian writes to a channel. */
    private static final class LeWriter implements AutoCloseable {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        LeWriter(FileChannel ch) {
            this.ch = ch;
        }

        private void ensure(int n) throws IOException {
            if (buf.remaining() < n) {
                flush();
            }
        }

        private void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                written += ch.write(buf);
            }
            buf.clear();
        }

        void putInt(int v) throws IOException {
            ensure(4);
            buf.putInt(v);
        }

        void putByte(int v) throws IOException {
            ensure(1);
            buf.put((byte) v);
        }

        void putFloats(float[] a) throws IOException {
            for (float f : a) {
                ensure(4);
                buf.putFloat(f);
            }
        }

        void putBytes(byte[] a) throws IOException {
            for (byte b : a) {
                ensure(1);
                buf.put(b);
            }
        }

        void padTo(long offset) throws IOException {
            while (position() < offset) {
                putByte(0);
            }
        }

        long position() {
            return written + buf.position();
        }

        void force() throws IOException {
            flush();
            ch.force(true);
        }

        @Override
        public void close() throws IOException {
            try {
                flush();
            } finally {
                ch.close();
            }
        }
    }
}
