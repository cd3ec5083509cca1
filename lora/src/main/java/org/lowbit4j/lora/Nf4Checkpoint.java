package org.lowbit4j.lora;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.Packed4Codec;
import org.lowbit4j.datasets.AtomicFiles;
import org.lowbit4j.models.CheckpointFormatException;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.LlamaConfig;
import org.lowbit4j.nn.Module;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * lowbit4j's NF4 checkpoint: a Llama whose seven linear weights per layer are stored as NF4 with double
 * quantization and everything else as fp32. All values little-endian.
 *
 * <pre>
 * offset  field
 *  0      int32   magic 0x344E424C ("LBN4")
 *  4      int32   version 1
 *  8      int32 x7 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 * 36      float64 norm_eps
 * 44      float64 rope_theta
 * 52      int32   shared_classifier (0 or 1)
 * 56      int32   NF4 block size (power of two in [32, 4096])
 * 60      int32   0 (reserved)
 * 64      fp32    tok_embeddings [V, C]; then for each layer attention_norm [C], ffn_norm [C]; then norm [C];
 *                 then output [V, C] only if the classifier is not shared
 *         NF4     for each layer, wq, wk, wv, wo, w1, w2, w3 ([out, in] row-major), each in
 *                 {@link org.lowbit4j.autograd.quant.QuantizedTensor}'s double-quantized layout: ceil(n/2)
 *                 code bytes (high nibble first), ceil(n/B) absmax code bytes, ceil(ceil(n/B)/256) fp32
 *                 scales, one fp32 mean
 * </pre>
 * The file size is fully determined by the header, and the reader checks it exactly.
 */
public final class Nf4Checkpoint {
    /** "LBN4" read as a little-endian int32. */
    public static final int MAGIC = 0x344E424C;
    /** The only version. */
    public static final int VERSION = 1;
    /** Header bytes before the fp32 section. */
    public static final int HEADER_BYTES = 64;
    /** The per-layer linears in file order. */
    public static final List<String> LINEARS = List.of("attention.wq", "attention.wk", "attention.wv",
            "attention.wo", "feed_forward.w1", "feed_forward.w2", "feed_forward.w3");

    private Nf4Checkpoint() {
    }

    /**
     * Writes a model, re-quantizing its linear weights to NF4. The weights written are those the model
     * computes with: adapters are merged in (as {@link LoraAdapters#merge}), and an NF4 base of the same
     * block size without adapters is copied as is (no second quantization).
     *
     * @param blockSize NF4 block size, power of two in [32, 4096] (QLoRA: 64)
     * @throws IllegalArgumentException for a bad block size
     * @throws IOException on a write error (a previous file is left intact)
     */
    public static void write(Llama model, Path file, int blockSize) throws IOException {
        Packed4Codec.checkBlockSize(blockSize);
        LlamaConfig c = model.config();
        var sites = new ArrayList<LoraInjector.Site>();
        LoraInjector.collect(model, sites);
        var linears = new LinkedHashMap<String, Module>();
        for (var s : sites) {
            linears.put(s.child().path(), s.child());
        }
        Nf4Weight[] q = new Nf4Weight[c.nLayers() * LINEARS.size()];
        int k = 0;
        for (int l = 0; l < c.nLayers(); l++) {
            for (String name : LINEARS) {
                String path = "layers." + l + "." + name;
                Module m = linears.get(path);
                q[k++] = switch (m) {
                    case FrozenLinear f when f.weight() instanceof Nf4Weight w && w.blockSize() == blockSize -> w;
                    case FrozenLinear f -> Nf4Weight.quantize(f.weight().dequantize(), blockSize);
                    case LoraLinear a -> Nf4Weight.quantize(a.mergedWeight(), blockSize);
                    case org.lowbit4j.nn.Linear lin -> Nf4Weight.quantize(lin.weight().value(), blockSize);
                    case null -> throw new IllegalArgumentException("model has no linear layer '" + path + "'");
                    default -> throw new IllegalArgumentException("unsupported layer at '" + path + "': " + m);
                };
            }
        }
        var params = model.namedParameters();
        var fp32 = new ArrayList<INDArray>();
        fp32.add(get(params, "tok_embeddings.weight"));
        for (int l = 0; l < c.nLayers(); l++) {
            fp32.add(get(params, "layers." + l + ".attention_norm.weight"));
            fp32.add(get(params, "layers." + l + ".ffn_norm.weight"));
        }
        fp32.add(get(params, "norm.weight"));
        if (!c.sharedClassifier()) {
            Module out = model.child("output");
            fp32.add(switch (out) {
                case org.lowbit4j.nn.Linear lin -> lin.weight().value();
                case FrozenLinear f -> f.weight().dequantize();
                case LoraLinear a -> a.mergedWeight();
                default -> throw new IllegalArgumentException("unsupported classifier layer " + out);
            });
        }
        AtomicFiles.write(file, os -> {
            var head = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            head.putInt(MAGIC).putInt(VERSION).putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.nLayers())
                    .putInt(c.nHeads()).putInt(c.nKvHeads()).putInt(c.vocabSize()).putInt(c.maxSeqLen())
                    .putDouble(c.normEps()).putDouble(c.ropeTheta()).putInt(c.sharedClassifier() ? 1 : 0)
                    .putInt(blockSize).putInt(0);
            os.write(head.array());
            for (INDArray a : fp32) {
                writeFloats(os, a);
            }
            for (Nf4Weight w : q) {
                var buf = ByteBuffer.allocate(Math.toIntExact(Nf4Weight.payloadBytes(w.rows(), w.cols(), blockSize)))
                        .order(ByteOrder.LITTLE_ENDIAN);
                w.writeLayout(buf);
                os.write(buf.array());
            }
        });
    }

    private static INDArray get(java.util.Map<String, Tensor> params, String name) {
        Tensor t = params.get(name);
        if (t == null) {
            throw new IllegalArgumentException("model has no parameter '" + name + "'");
        }
        return t.value();
    }

    private static void writeFloats(OutputStream os, INDArray a) throws IOException {
        float[] f = a.castTo(DataType.FLOAT).dup('c').data().asFloat();
        int n = (int) a.length();
        var buf = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            buf.putFloat(f[i]);
        }
        os.write(buf.array());
    }

    /** @return the exact size in bytes of a checkpoint of this shape and block size */
    public static long expectedBytes(LlamaConfig c, int blockSize) {
        long d = c.dim();
        long floats = (long) c.vocabSize() * d * (c.sharedClassifier() ? 1 : 2) + 2L * c.nLayers() * d + d;
        long nf4 = 0;
        long kv = c.kvDim();
        long h = c.hiddenDim();
        long[][] shapes = {{d, d}, {kv, d}, {kv, d}, {d, d}, {h, d}, {d, h}, {h, d}};
        for (long[] s : shapes) {
            nf4 += Nf4Weight.payloadBytes(s[0], s[1], blockSize);
        }
        return HEADER_BYTES + 4 * floats + c.nLayers() * nf4;
    }

    /**
     * Reads a checkpoint into a FLOAT Llama whose 7 linears per layer are {@link FrozenLinear}s over
     * {@link Nf4Weight}s (kept packed); embeddings and norms are ordinary parameters (injection freezes them).
     *
     * @throws CheckpointFormatException naming the file and the field that is wrong (magic, version, a
     *     config value, block size, file size, a non-finite value)
     * @throws IOException on a read error
     */
    public static Llama read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointFormatException(file, "NF4 checkpoint not found");
        }
        long size = Files.size(file);
        if (size < HEADER_BYTES) {
            throw new CheckpointFormatException(file, "file has " + size + " bytes, shorter than the " + HEADER_BYTES
                    + "-byte header");
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new CheckpointFormatException(file, "file of " + size + " bytes exceeds the 2 GiB this reader supports");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        try (var ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (buf.hasRemaining()) {
                if (ch.read(buf) < 0) {
                    throw new CheckpointFormatException(file, "file shrank while reading");
                }
            }
        }
        buf.flip();
        int magic = buf.getInt();
        if (magic != MAGIC) {
            throw new CheckpointFormatException(file, String.format("bad magic 0x%08x, expected 0x%08x (\"LBN4\")",
                    magic, MAGIC));
        }
        int version = buf.getInt();
        if (version != VERSION) {
            throw new CheckpointFormatException(file, "unsupported version " + version + ", expected " + VERSION);
        }
        LlamaConfig c;
        int blockSize;
        try {
            int dim = buf.getInt();
            int hidden = buf.getInt();
            int layers = buf.getInt();
            int heads = buf.getInt();
            int kvHeads = buf.getInt();
            int vocab = buf.getInt();
            int seq = buf.getInt();
            double eps = buf.getDouble();
            double theta = buf.getDouble();
            int shared = buf.getInt();
            if (shared != 0 && shared != 1) {
                throw new IllegalArgumentException("shared_classifier must be 0 or 1, got " + shared);
            }
            c = new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, seq, eps, theta, shared == 1);
            blockSize = buf.getInt();
            Packed4Codec.checkBlockSize(blockSize);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, "bad header: " + e.getMessage(), e);
        }
        long expected = expectedBytes(c, blockSize);
        if (size != expected) {
            throw new CheckpointFormatException(file, "size " + size + " bytes, header (" + c + ", block " + blockSize
                    + ") implies " + expected);
        }
        buf.position(HEADER_BYTES);
        Llama model = new Llama(c, DataType.FLOAT);
        var p = model.namedParameters();
        readFloats(file, buf, p.get("tok_embeddings.weight"));
        for (int l = 0; l < c.nLayers(); l++) {
            readFloats(file, buf, p.get("layers." + l + ".attention_norm.weight"));
            readFloats(file, buf, p.get("layers." + l + ".ffn_norm.weight"));
        }
        readFloats(file, buf, p.get("norm.weight"));
        if (!c.sharedClassifier()) {
            readFloats(file, buf, p.get("output.weight"));
        }
        for (int l = 0; l < c.nLayers(); l++) {
            Module block = model.layers().get(l);
            for (String name : LINEARS) {
                String[] parts = name.split("\\.");
                Module parent = block.child(parts[0]);
                var lin = (org.lowbit4j.nn.Linear) parent.child(parts[1]);
                String what = file + " layers." + l + "." + name;
                Nf4Weight w;
                try {
                    w = Nf4Weight.fromLayout((int) lin.outFeatures(), (int) lin.inFeatures(), blockSize, buf, what);
                } catch (IllegalArgumentException e) {
                    throw new CheckpointFormatException(file, e.getMessage(), e);
                }
                parent.replaceChild(parts[1], new FrozenLinear(w));
            }
        }
        return model;
    }

    private static void readFloats(Path file, ByteBuffer buf, Tensor t) throws CheckpointFormatException {
        int n = (int) t.value().length();
        float[] f = new float[n];
        buf.asFloatBuffer().get(f);
        buf.position(buf.position() + 4 * n);
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(f[i])) {
                throw new CheckpointFormatException(file, "'" + t.name() + "' element " + i + " is not finite: " + f[i]);
            }
        }
        t.value().assign(Nd4j.create(f, t.shape(), 'c'));
    }
}
