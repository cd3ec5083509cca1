package org.lowbit4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.datasets.AtomicFiles;
import org.lowbit4j.models.CheckpointFormatException;
import org.lowbit4j.models.Llama;
import org.lowbit4j.nn.Linear;
import org.lowbit4j.nn.Module;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Adapters of an injected model: listing, saving and loading on their own, merging.
 *
 * <p>Adapter files: a directory with {@value #CONFIG_FILE} (the {@link LoraConfig}, the base format,
 * the model shape and the tensor list, as JSON) and {@value #WEIGHTS_FILE}: the magic {@code "LORA"}
 * (int32 0x41524F4C little-endian), int32 version 1, int32 tensor count, int32 0, then every tensor of
 * the JSON list in order as little-endian fp32, row-major. Both are written atomically.
 */
public final class LoraAdapters {
    /** Name of the JSON file of an adapter directory. */
    public static final String CONFIG_FILE = "adapter_config.json";
    /** Name of the weights file of an adapter directory. */
    public static final String WEIGHTS_FILE = "adapter_model.bin";
    /** "LORA" read as a little-endian int32. */
    public static final int MAGIC = 0x41524F4C;
    private static final int VERSION = 1;
    private static final int HEADER_BYTES = 16;
    private static final ObjectMapper JSON = new ObjectMapper();

    private LoraAdapters() {
    }

    /** @return the adapted layers by dotted path, in model order (empty if none) */
    public static LinkedHashMap<String, LoraLinear> adapters(Module model) {
        var out = new LinkedHashMap<String, LoraLinear>();
        var sites = new ArrayList<LoraInjector.Site>();
        LoraInjector.collect(model, sites);
        for (var s : sites) {
            if (s.child() instanceof LoraLinear l) {
                out.put(l.path(), l);
            }
        }
        return out;
    }

    /** @return the parameters that train (the A and B of every adapter after injection), in model order */
    public static List<Tensor> trainableParameters(Module model) {
        return model.trainableParameters();
    }

    /**
     * Writes the adapters of {@code model} to {@code dir}.
     *
     * @throws IllegalArgumentException if the model has no adapters
     * @throws IOException on a write error (previous files stay intact)
     */
    public static void save(Llama model, Path dir) throws IOException {
        var ads = adapters(model);
        if (ads.isEmpty()) {
            throw new IllegalArgumentException("model has no LoRA adapters to save");
        }
        LoraLinear first = ads.values().iterator().next();
        var root = JSON.createObjectNode();
        root.put("format", "lowbit4j-lora");
        root.put("version", VERSION);
        root.set("config", first.config().toJson(JSON));
        root.put("baseFormat", first.base().format().name());
        var mc = model.config();
        var shape = root.putObject("model");
        shape.put("dim", mc.dim());
        shape.put("hiddenDim", mc.hiddenDim());
        shape.put("nLayers", mc.nLayers());
        shape.put("vocabSize", mc.vocabSize());
        var tensors = root.putArray("tensors");
        var arrays = new ArrayList<INDArray>();
        for (var l : ads.values()) {
            if (!l.config().equals(first.config())) {
                throw new IllegalArgumentException("adapters differ in config ('" + l.path() + "'); one file holds one config");
            }
            for (Tensor t : List.of(l.loraA(), l.loraB())) {
                var o = tensors.addObject();
                o.put("name", t.name());
                var sh = o.putArray("shape");
                for (long d : t.shape()) {
                    sh.add(d);
                }
                arrays.add(t.value());
            }
        }
        Files.createDirectories(dir);
        AtomicFiles.write(dir.resolve(WEIGHTS_FILE), os -> {
            var out = new DataOutputStream(os);
            var head = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            head.putInt(MAGIC).putInt(VERSION).putInt(arrays.size()).putInt(0);
            out.write(head.array());
            for (INDArray a : arrays) {
                float[] f = a.castTo(DataType.FLOAT).dup('c').data().asFloat();
                var buf = ByteBuffer.allocate(4 * (int) a.length()).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < a.length(); i++) {
                    buf.putFloat(f[i]);
                }
                out.write(buf.array());
            }
            out.flush();
        });
        AtomicFiles.write(dir.resolve(CONFIG_FILE),
                os -> os.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root)));
    }

    /**
     * Loads adapters saved by {@link #save}. A model without adapters is first injected with the saved
     * config and base format; a model with adapters must have the same config and layer names. Nothing in
     * the model changes unless the whole directory is valid.
     *
     * @return the adapters' config
     * @throws CheckpointFormatException naming the file and what is wrong (bad JSON, magic, size, names,
     *     shapes, non-finite values)
     * @throws IOException on a read error
     */
    public static LoraConfig load(Llama model, Path dir) throws IOException {
        Path cfgFile = dir.resolve(CONFIG_FILE);
        Path binFile = dir.resolve(WEIGHTS_FILE);
        for (Path p : List.of(cfgFile, binFile)) {
            if (!Files.isRegularFile(p)) {
                throw new CheckpointFormatException(p, "adapter file not found");
            }
        }
        JsonNode root;
        LoraConfig config;
        BaseFormat baseFormat;
        try {
            root = JSON.readTree(cfgFile.toFile());
            if (!"lowbit4j-lora".equals(root.path("format").asText()) || root.path("version").asInt() != VERSION) {
                throw new IllegalArgumentException("expected format 'lowbit4j-lora' version " + VERSION + ", got '"
                        + root.path("format").asText() + "' version " + root.path("version"));
            }
            config = LoraConfig.fromJson(root.get("config"));
            baseFormat = BaseFormat.valueOf(root.path("baseFormat").asText());
            var m = root.path("model");
            var mc = model.config();
            if (m.path("dim").asInt() != mc.dim() || m.path("hiddenDim").asInt() != mc.hiddenDim()
                    || m.path("nLayers").asInt() != mc.nLayers() || m.path("vocabSize").asInt() != mc.vocabSize()) {
                throw new IllegalArgumentException("adapters were trained for model " + m + ", this model is " + mc);
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new CheckpointFormatException(cfgFile, e.getMessage(), e);
        }
        JsonNode tensors = root.path("tensors");
        if (!tensors.isArray() || tensors.isEmpty()) {
            throw new CheckpointFormatException(cfgFile, "'tensors' must be a non-empty array");
        }
        var names = new ArrayList<String>();
        var shapes = new ArrayList<long[]>();
        long total = 0;
        for (JsonNode t : tensors) {
            long[] sh = new long[t.path("shape").size()];
            for (int i = 0; i < sh.length; i++) {
                sh[i] = t.path("shape").get(i).asLong();
            }
            if (sh.length != 2 || sh[0] <= 0 || sh[1] <= 0 || sh[0] * sh[1] > Integer.MAX_VALUE / 4) {
                throw new CheckpointFormatException(cfgFile, "tensor '" + t.path("name").asText() + "' has bad shape "
                        + Arrays.toString(sh));
            }
            names.add(t.path("name").asText());
            shapes.add(sh);
            total += sh[0] * sh[1];
        }
        long expected = HEADER_BYTES + 4 * total;
        long size = Files.size(binFile);
        if (size != expected) {
            throw new CheckpointFormatException(binFile, "size " + size + " bytes, the tensors of " + CONFIG_FILE
                    + " need " + expected);
        }
        var values = new ArrayList<INDArray>();
        try (var ch = FileChannel.open(binFile, StandardOpenOption.READ)) {
            var head = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, head);
            head.flip();
            int magic = head.getInt();
            int version = head.getInt();
            int count = head.getInt();
            if (magic != MAGIC || version != VERSION || count != names.size()) {
                throw new CheckpointFormatException(binFile, String.format(
                        "header: magic 0x%08x version %d count %d, expected 0x%08x version %d count %d", magic, version,
                        count, MAGIC, VERSION, names.size()));
            }
            for (int i = 0; i < names.size(); i++) {
                long[] sh = shapes.get(i);
                var buf = ByteBuffer.allocate((int) (4 * sh[0] * sh[1])).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ch, buf);
                buf.flip();
                float[] f = new float[(int) (sh[0] * sh[1])];
                buf.asFloatBuffer().get(f);
                for (int j = 0; j < f.length; j++) {
                    if (!Float.isFinite(f[j])) {
                        throw new CheckpointFormatException(binFile, "tensor '" + names.get(i) + "' element " + j
                                + " is not finite: " + f[j]);
                    }
                }
                values.add(Nd4j.create(f, sh, 'c'));
            }
        }
        // Validate against the model before touching it.
        var ads = adapters(model);
        boolean inject = ads.isEmpty();
        var expectedNames = new ArrayList<String>();
        var expectedShapes = new ArrayList<long[]>();
        if (inject) {
            var sites = new ArrayList<LoraInjector.Site>();
            LoraInjector.collect(model, sites);
            for (var s : sites) {
                if (config.targets(s.child().path()) && s.child() instanceof Linear l) {
                    expectedNames.add(s.child().path() + ".lora_A");
                    expectedShapes.add(new long[] {config.rank(), l.inFeatures()});
                    expectedNames.add(s.child().path() + ".lora_B");
                    expectedShapes.add(new long[] {l.outFeatures(), config.rank()});
                } else if (config.targets(s.child().path()) && s.child() instanceof FrozenLinear f) {
                    expectedNames.add(s.child().path() + ".lora_A");
                    expectedShapes.add(new long[] {config.rank(), f.weight().cols()});
                    expectedNames.add(s.child().path() + ".lora_B");
                    expectedShapes.add(new long[] {f.weight().rows(), config.rank()});
                }
            }
        } else {
            for (var l : ads.values()) {
                if (!l.config().equals(config)) {
                    throw new CheckpointFormatException(cfgFile, "adapter config " + config + " differs from the model's "
                            + l.config() + " at '" + l.path() + "'");
                }
                expectedNames.add(l.loraA().name());
                expectedShapes.add(l.loraA().shape());
                expectedNames.add(l.loraB().name());
                expectedShapes.add(l.loraB().shape());
            }
        }
        if (!expectedNames.equals(names)) {
            throw new CheckpointFormatException(cfgFile, "tensors " + names + " do not match the model's adapters "
                    + expectedNames);
        }
        for (int i = 0; i < names.size(); i++) {
            if (!Arrays.equals(expectedShapes.get(i), shapes.get(i))) {
                throw new CheckpointFormatException(cfgFile, "tensor '" + names.get(i) + "' has shape "
                        + Arrays.toString(shapes.get(i)) + ", the model expects " + Arrays.toString(expectedShapes.get(i)));
            }
        }
        if (inject) {
            LoraInjector.inject(model, config, baseFormat, 0L);
            ads = adapters(model);
        }
        int i = 0;
        for (var l : ads.values()) {
            for (Tensor t : List.of(l.loraA(), l.loraB())) {
                t.value().assign(values.get(i++).castTo(t.dataType()));
            }
        }
        return config;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                throw new java.io.EOFException("unexpected end of file");
            }
        }
    }

    /**
     * Builds a plain model (FLOAT, only {@link Linear}s, every parameter trainable, no adapters) whose
     * linear weights are the weights {@code model} computes with plus the adapter updates: for an NF4 base
     * the dequantized NF4 weight + s B A. Embeddings, norms and the classifier are copied. {@code model}
     * is not changed. The result is what llama2.c export and {@code InferenceSession} take.
     *
     * @return the merged model
     */
    public static Llama merge(Llama model) {
        Llama out = new Llama(model.config(), DataType.FLOAT);
        var dst = out.namedParameters();
        var src = model.namedParameters();
        var sites = new ArrayList<LoraInjector.Site>();
        LoraInjector.collect(model, sites);
        var linearWeights = new LinkedHashMap<String, INDArray>();
        for (var s : sites) {
            INDArray w = switch (s.child()) {
                case LoraLinear l -> l.mergedWeight();
                case FrozenLinear f -> f.weight().dequantize();
                case Linear l -> l.weight().value();
                default -> throw new IllegalStateException("unexpected layer " + s.child());
            };
            linearWeights.put(s.child().path() + ".weight", w);
        }
        for (var e : dst.entrySet()) {
            INDArray v = linearWeights.containsKey(e.getKey()) ? linearWeights.get(e.getKey())
                    : src.containsKey(e.getKey()) ? src.get(e.getKey()).value() : null;
            if (v == null) {
                throw new IllegalStateException("merge: source model has no value for '" + e.getKey() + "'");
            }
            e.getValue().value().assign(v.castTo(DataType.FLOAT));
        }
        return out;
    }

    /** Merges every adapter of the model in place ({@link LoraLinear#merge()}). */
    public static void mergeInPlace(Module model) {
        adapters(model).values().forEach(LoraLinear::merge);
    }

    /** Undoes {@link #mergeInPlace} ({@link LoraLinear#unmerge()}). */
    public static void unmerge(Module model) {
        adapters(model).values().forEach(LoraLinear::unmerge);
    }
}
