package org.lowbit4j.mixedprec.fp8;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.lowbit4j.autograd.Autocast;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.nn.Module;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * FP8 training in the manner of Transformer Engine: inside {@code Autocast.enable(policy)}, every
 * {@code F.linear(x, W)} runs as an {@link Fp8Linear} with per-tensor scales from the recipe (delayed by
 * default), while {@code F.matmul}, {@code F.causalAttention} and {@link #castActivation} go to a
 * delegate policy (TE runs attention outside FP8 by default; pass e.g. a BF16 policy, or an fp32 one).
 *
 * <pre>{@code
 * Fp8Policy fp8 = Fp8Policy.forModel(model, Fp8Recipe.defaults(), bf16Policy);
 * try (var scope = Autocast.enable(fp8)) {
 *     Tensor loss = model.loss(inputs, targets, -100);
 *     loss.backward();                      // gradients through Fp8Linear (E5M2 under HYBRID)
 * }
 * fp8.save(dir.resolve("fp8-state.bin")); // with the model and optimizer checkpoint
 * }</pre>
 *
 * <p>Each weight tensor gets one {@link Fp8WeightMetas} (input, weight and output-gradient scaling
 * states), created at its first use and kept in first-use order, keyed by the weight's name: the name the
 * model gave it ({@link #forModel}: from {@link Module#namedParameters()}), else {@link Tensor#name()}
 * (which {@link Module} sets to the parameter's dotted path). A weight without a name is an error, since
 * its state could not be saved and restored. A weight used by several linear calls shares one state.
 *
 * <p>State files ({@link #save}, {@link #load}) hold the recipe and every weight's three histories and
 * scales, so a resumed run continues bit for bit. Not thread-safe: use one policy per training thread.
 */
public final class Fp8Policy implements Autocast.Policy {
    private static final String MAGIC = "lowbit4j-fp8-scaling-state";
    private static final int VERSION = 1;
    private static final int END = 0x46503845; // "FP8E"

    private final Fp8Recipe recipe;
    private final Autocast.Policy delegate;
    /** Names given by the model, by tensor identity; empty for a policy built without a model. */
    private final IdentityHashMap<Tensor, String> modelNames;
    /** Shapes of the model's parameters by name, for checking state files; null without a model. */
    private final Map<String, long[]> modelShapes;
    private LinkedHashMap<String, Fp8WeightMetas> metas = new LinkedHashMap<>();

    /**
     * A policy that names weights by {@link Tensor#name()}.
     *
     * @param recipe scaling recipe of the linear layers
     * @param delegate runs matmul, attention and castActivation
     * @throws NullPointerException if an argument is null
     */
    public Fp8Policy(Fp8Recipe recipe, Autocast.Policy delegate) {
        this(recipe, delegate, new IdentityHashMap<>(), null);
    }

    private Fp8Policy(Fp8Recipe recipe, Autocast.Policy delegate, IdentityHashMap<Tensor, String> modelNames,
            Map<String, long[]> modelShapes) {
        this.recipe = Objects.requireNonNull(recipe, "recipe");
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.modelNames = modelNames;
        this.modelShapes = modelShapes;
    }

    /**
     * A policy that names weights as {@code model.namedParameters()} does (tensors it does not know fall
     * back to {@link Tensor#name()}), and checks state files against the model's parameter names and
     * shapes.
     *
     * @param model the model whose linear weights run in FP8
     * @param recipe scaling recipe of the linear layers
     * @param delegate runs matmul, attention and castActivation
     * @return the policy
     */
    public static Fp8Policy forModel(Module model, Fp8Recipe recipe, Autocast.Policy delegate) {
        var names = new IdentityHashMap<Tensor, String>();
        var shapes = new LinkedHashMap<String, long[]>();
        for (var e : model.namedParameters().entrySet()) {
            names.put(e.getValue(), e.getKey());
            shapes.put(e.getKey(), e.getValue().shape());
        }
        return new Fp8Policy(recipe, delegate, names, shapes);
    }

    /**
     * {@code x W^T} as an {@link Fp8Linear} with W's scaling states.
     *
     * @param x [..., in], FLOAT
     * @param w [out, in], FLOAT, named (see the class comment)
     * @return [..., out]
     * @throws IllegalArgumentException if w has no name, or its shape differs from the shape its name had
     *     before
     */
    @Override
    public Tensor linear(Tensor x, Tensor w) {
        Fp8WeightMetas m = metasFor(w);
        return new Fp8Linear(m.input(), m.weight(), m.gradOutput(), recipe.format()).apply(x, w);
    }

    /**
     * The classifier loss as one {@link Fp8LinearCrossEntropy} (the classifier in FP8 with w's scaling states, the
     * logits off the tape).
     */
    @Override
    public Tensor linearCrossEntropy(Tensor x, Tensor w, INDArray targets, int ignoreIndex) {
        return new Fp8LinearCrossEntropy(metasFor(w), recipe.format(), targets, ignoreIndex).apply(x, w);
    }

    /** @return the delegate's matmul */
    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        return delegate.matmul(a, b);
    }

    /** @return the delegate's attention */
    @Override
    public Tensor causalAttention(Tensor q, Tensor k, Tensor v) {
        return delegate.causalAttention(q, k, v);
    }

    /** @return the delegate's rounding */
    @Override
    public Tensor castActivation(Tensor x) {
        return delegate.castActivation(x);
    }

    private Fp8WeightMetas metasFor(Tensor w) {
        String name = modelNames.get(w);
        if (name == null) {
            name = w.name();
        }
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("Fp8Policy: linear weight of shape " + Arrays.toString(w.shape())
                    + " has no name, so its FP8 scaling state could not be saved; register it in a Module and"
                    + " use Fp8Policy.forModel, or name it with Tensor.named");
        }
        Fp8WeightMetas m = metas.get(name);
        if (m == null) {
            m = new Fp8WeightMetas(name, w.shape(), new Fp8TensorMeta(recipe), new Fp8TensorMeta(recipe),
                    new Fp8TensorMeta(recipe));
            metas.put(name, m);
        } else if (!Arrays.equals(m.weightShape(), w.shape())) {
            throw new IllegalArgumentException("Fp8Policy: weight '" + name + "' has shape "
                    + Arrays.toString(w.shape()) + ", but a weight of shape " + Arrays.toString(m.weightShape())
                    + " was used under that name before (two different weights with one name?)");
        }
        return m;
    }

    /** @return the recipe */
    public Fp8Recipe recipe() {
        return recipe;
    }

    /** @return the delegate for non-linear products */
    public Autocast.Policy delegate() {
        return delegate;
    }

    /** @return the weight names with scaling state, in first-use order (unmodifiable) */
    public List<String> weightNames() {
        return Collections.unmodifiableList(new ArrayList<>(metas.keySet()));
    }

    /**
     * @param weightName a name from {@link #weightNames()}
     * @return that weight's scaling states (live objects)
     * @throws IllegalArgumentException if the weight has not been used (or loaded)
     */
    public Fp8WeightMetas metas(String weightName) {
        Fp8WeightMetas m = metas.get(weightName);
        if (m == null) {
            throw new IllegalArgumentException("Fp8Policy: no FP8 state for weight '" + weightName + "', have "
                    + metas.keySet());
        }
        return m;
    }

    @Override
    public String toString() {
        return "FP8 linears (" + recipe + "), other products: " + delegate;
    }

    /**
     * @return one line per weight and role: scale, latest amax, history amax and call count (for logs)
     */
    public String summary() {
        var sb = new StringBuilder();
        sb.append("FP8 ").append(recipe).append(", ").append(metas.size()).append(" weights\n");
        for (Fp8WeightMetas m : metas.values()) {
            for (Fp8WeightMetas.Role r : Fp8WeightMetas.Role.values()) {
                sb.append(String.format("  %-40s %-11s %s%n", m.name(), r, m.meta(r)));
            }
        }
        return sb.toString();
    }

    /**
     * Writes the recipe and every weight's scaling states atomically: to a temporary file in the same
     * directory, then moved over {@code file}.
     *
     * @throws IOException on a write failure (the previous file, if any, is left intact)
     */
    public void save(Path file) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        try {
            try (var out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
                out.writeUTF(MAGIC);
                out.writeInt(VERSION);
                writeRecipe(out, recipe);
                out.writeInt(metas.size());
                for (Fp8WeightMetas m : metas.values()) {
                    out.writeUTF(m.name());
                    long[] shape = m.weightShape();
                    out.writeInt(shape.length);
                    for (long d : shape) {
                        out.writeLong(d);
                    }
                    m.input().write(out);
                    m.weight().write(out);
                    m.gradOutput().write(out);
                }
                out.writeInt(END);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Replaces all scaling states by those of a file written by {@link #save} (the weights, their order and
     * every history, scale and counter), so that the following calls are bitwise identical to those of the
     * policy that saved it. Nothing changes unless the whole file is valid.
     *
     * @throws Fp8StateException naming the file and the mismatch, if the file is not such a state, is
     *     truncated or corrupt, was written with another recipe (any field), or (for a policy made by
     *     {@link #forModel}) names a weight the model does not have or stores another shape for it
     * @throws IOException on a read failure
     */
    public void load(Path file) throws IOException {
        var loaded = new LinkedHashMap<String, Fp8WeightMetas>();
        try (var in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            String magic = in.readUTF();
            if (!MAGIC.equals(magic)) {
                throw new Fp8StateException(file + ": not an FP8 scaling state (header '" + magic + "')");
            }
            int version = in.readInt();
            if (version != VERSION) {
                throw new Fp8StateException(file + ": format version " + version + ", this code reads " + VERSION);
            }
            checkRecipe(file, readRecipe(in, file));
            int count = in.readInt();
            if (count < 0) {
                throw new Fp8StateException(file + ": corrupt weight count " + count);
            }
            for (int i = 0; i < count; i++) {
                String name = in.readUTF();
                int rank = in.readInt();
                if (rank < 0 || rank > 8) {
                    throw new Fp8StateException(file + ": weight '" + name + "': corrupt rank " + rank);
                }
                long[] shape = new long[rank];
                for (int d = 0; d < rank; d++) {
                    shape[d] = in.readLong();
                }
                if (modelShapes != null) {
                    long[] expected = modelShapes.get(name);
                    if (expected == null) {
                        throw new Fp8StateException(file + ": weight '" + name
                                + "' is not a parameter of the model (model has " + modelShapes.keySet() + ")");
                    }
                    if (!Arrays.equals(expected, shape)) {
                        throw new Fp8StateException(file + ": weight '" + name + "' has shape "
                                + Arrays.toString(shape) + " in the file, " + Arrays.toString(expected)
                                + " in the model");
                    }
                }
                String what = file + ": weight '" + name + "'";
                var m = new Fp8WeightMetas(name, shape, Fp8TensorMeta.read(in, recipe, what + " input"),
                        Fp8TensorMeta.read(in, recipe, what + " weight"),
                        Fp8TensorMeta.read(in, recipe, what + " gradOutput"));
                if (loaded.put(name, m) != null) {
                    throw new Fp8StateException(what + " appears twice");
                }
            }
            if (in.readInt() != END || in.read() != -1) {
                throw new Fp8StateException(file + ": corrupt end of file");
            }
        } catch (EOFException e) {
            throw new Fp8StateException(file + ": truncated FP8 scaling state");
        }
        metas = loaded;
    }

    private static void writeRecipe(DataOutputStream out, Fp8Recipe r) throws IOException {
        out.writeUTF(r.format().name());
        out.writeInt(r.amaxHistoryLen());
        out.writeUTF(r.amaxCompute().name());
        out.writeInt(r.margin());
        out.writeBoolean(r.powerOfTwoScale());
        out.writeUTF(r.scaling().name());
    }

    private static Fp8Recipe readRecipe(DataInputStream in, Path file) throws IOException {
        try {
            return new Fp8Recipe(Fp8Format.valueOf(in.readUTF()), in.readInt(),
                    Fp8Recipe.AmaxCompute.valueOf(in.readUTF()), in.readInt(), in.readBoolean(),
                    Fp8Recipe.Scaling.valueOf(in.readUTF()));
        } catch (IllegalArgumentException e) {
            throw new Fp8StateException(file + ": corrupt recipe: " + e.getMessage());
        }
    }

    private void checkRecipe(Path file, Fp8Recipe stored) throws Fp8StateException {
        var diffs = new ArrayList<String>();
        diff(diffs, "format", stored.format(), recipe.format());
        diff(diffs, "amaxHistoryLen", stored.amaxHistoryLen(), recipe.amaxHistoryLen());
        diff(diffs, "amaxCompute", stored.amaxCompute(), recipe.amaxCompute());
        diff(diffs, "margin", stored.margin(), recipe.margin());
        diff(diffs, "powerOfTwoScale", stored.powerOfTwoScale(), recipe.powerOfTwoScale());
        diff(diffs, "scaling", stored.scaling(), recipe.scaling());
        if (!diffs.isEmpty()) {
            throw new Fp8StateException(file + ": written with another FP8 recipe: " + String.join(", ", diffs));
        }
    }

    private static void diff(List<String> diffs, String field, Object inFile, Object here) {
        if (!inFile.equals(here)) {
            diffs.add(field + " " + inFile + " in the file, " + here + " in this policy");
        }
    }
}
