package org.lowbit4j.optim;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.optim.kernel.FloatView;
import org.lowbit4j.optim.kernel.Workers;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What every optimizer shares: the parameter list and ids, the learning rate, the step loop (views of
 * values and gradients, bf16 write-back) and the state file format.
 *
 * <p>State file (big-endian header, little-endian arrays, CRC32 of everything before the trailer):
 * <pre>
 * "LB4JOPT1"  int version  UTF kind  long steps  double lr
 * int hyperCount, (UTF name, double value)*
 * int paramCount, per parameter: UTF id, int rank, long[rank] shape, then the optimizer's record
 * long crc32
 * </pre>
 */
public abstract sealed class BaseOptimizer implements Optimizer permits AdamFamily, Sgd {
    private static final byte[] MAGIC = "LB4JOPT1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    private final List<Tensor> params;
    private final String[] ids;
    private final UpdateOptions options;
    private final Workers workers;
    private double lr;
    private long steps;

    /**
     * @throws IllegalArgumentException for an empty list, a non-parameter, a duplicate tensor or name
     */
    BaseOptimizer(List<Tensor> params, double lr, UpdateOptions options) {
        if (params == null || params.isEmpty()) {
            throw new IllegalArgumentException("an optimizer needs at least one parameter");
        }
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<String> names = new HashSet<>();
        ids = new String[params.size()];
        for (int i = 0; i < params.size(); i++) {
            Tensor t = params.get(i);
            if (t == null || !t.isLeaf() || !t.requiresGrad()) {
                throw new IllegalArgumentException("parameter " + i + " (" + t + ") is not a parameter leaf");
            }
            if (!seen.add(t)) {
                throw new IllegalArgumentException("parameter " + i + " (" + t + ") appears twice in the list");
            }
            ids[i] = t.name() != null ? t.name() : "#" + i;
            if (!names.add(ids[i])) {
                throw new IllegalArgumentException("parameter " + i + ": name '" + ids[i] + "' is used twice");
            }
        }
        this.params = List.copyOf(params);
        this.options = options;
        this.workers = Workers.of(options.threads());
        setLr(lr);
    }

    /** Short kind written to state files ("AdamW", "SGD", ...). */
    abstract String kind();

    /** Hyperparameters that must match between a state file and this optimizer. */
    abstract Map<String, Double> hyperparameters();

    /**
     * Updates parameter {@code index} from its gradient.
     *
     * @param p the value as float32 (in place or a copy committed afterwards)
     * @param g the gradient as float32
     */
    abstract void update(int index, FloatView p, FloatView g);

    /** Writes parameter {@code index}'s state record. */
    abstract void writeState(int index, DataOutputStream out) throws IOException;

    /**
     * Reads parameter {@code index}'s state record without applying it.
     *
     * @param what names the parameter in messages
     * @return applies the read state
     */
    abstract Runnable readState(int index, DataInputStream in, String what) throws IOException;

    /** State bytes of parameter {@code index}. */
    abstract long stateBytes(int index);

    /** @return the parameter's id: its name, or {@code "#index"} */
    public final String id(int index) {
        return ids[index];
    }

    final Workers workers() {
        return workers;
    }

    final UpdateOptions options() {
        return options;
    }

    @Override
    public final void step() {
        steps++;
        for (int i = 0; i < params.size(); i++) {
            Tensor t = params.get(i);
            INDArray grad = t.grad();
            if (grad == null) {
                continue;
            }
            INDArray value = t.value();
            if (grad.length() != value.length()) {
                throw new IllegalStateException("parameter '" + ids[i] + "': gradient has " + grad.length()
                        + " elements, value has " + value.length());
            }
            FloatView p = FloatView.of(value, "parameter '" + ids[i] + "'");
            FloatView g = FloatView.of(grad, "gradient of '" + ids[i] + "'");
            update(i, p, g);
            p.commit(options.stochasticRounding(), options.seed(), steps, i);
        }
    }

    @Override
    public final void zeroGrad() {
        for (Tensor t : params) {
            t.zeroGrad();
        }
    }

    @Override
    public final double lr() {
        return lr;
    }

    @Override
    public final void setLr(double newLr) {
        Checks.nonNegative("lr", newLr);
        this.lr = newLr;
    }

    @Override
    public final long steps() {
        return steps;
    }

    @Override
    public final List<Tensor> parameters() {
        return params;
    }

    @Override
    public final long stateBytes() {
        long total = 0;
        for (int i = 0; i < params.size(); i++) {
            total += stateBytes(i);
        }
        return total;
    }

    @Override
    public final void save(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Path tmp = Files.createTempFile(dir, target.getFileName().toString(), ".tmp");
        try {
            try (FileOutputStream fos = new FileOutputStream(tmp.toFile())) {
                CRC32 crc = new CRC32();
                var out = new DataOutputStream(new CheckedOutputStream(new BufferedOutputStream(fos, 1 << 16), crc));
                out.write(MAGIC);
                out.writeInt(VERSION);
                out.writeUTF(kind());
                out.writeLong(steps);
                out.writeDouble(lr);
                Map<String, Double> hyper = hyperparameters();
                out.writeInt(hyper.size());
                for (var e : hyper.entrySet()) {
                    out.writeUTF(e.getKey());
                    out.writeDouble(e.getValue());
                }
                out.writeInt(params.size());
                for (int i = 0; i < params.size(); i++) {
                    out.writeUTF(ids[i]);
                    long[] shape = params.get(i).shape();
                    out.writeInt(shape.length);
                    for (long s : shape) {
                        out.writeLong(s);
                    }
                    writeState(i, out);
                }
                out.writeLong(crc.getValue());
                out.flush();
                fos.getFD().sync();
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public final void load(Path file) throws IOException {
        String f = "optimizer state " + file;
        try (InputStream raw = Files.newInputStream(file)) {
            CRC32 crc = new CRC32();
            var in = new DataInputStream(new CheckedInputStream(new BufferedInputStream(raw, 1 << 16), crc));
            byte[] magic = new byte[MAGIC.length];
            in.readFully(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new StateFileException(f + ": not a lowbit4j optimizer state (bad magic)");
            }
            int version = in.readInt();
            if (version != VERSION) {
                throw new StateFileException(f + ": format version " + version + ", expected " + VERSION);
            }
            String kind = in.readUTF();
            if (!kind.equals(kind())) {
                throw new StateFileException(f + ": holds " + kind + " state, this optimizer is " + kind());
            }
            long fileSteps = in.readLong();
            double fileLr = in.readDouble();
            if (fileSteps < 0 || !(fileLr >= 0) || !Double.isFinite(fileLr)) {
                throw new StateFileException(f + ": corrupt header (steps " + fileSteps + ", lr " + fileLr + ")");
            }
            int hyperCount = in.readInt();
            if (hyperCount < 0 || hyperCount > 64) {
                throw new StateFileException(f + ": corrupt header (" + hyperCount + " hyperparameters)");
            }
            Map<String, Double> fileHyper = new LinkedHashMap<>();
            for (int k = 0; k < hyperCount; k++) {
                fileHyper.put(in.readUTF(), in.readDouble());
            }
            for (var e : hyperparameters().entrySet()) {
                Double got = fileHyper.get(e.getKey());
                if (got == null || Double.doubleToLongBits(got) != Double.doubleToLongBits(e.getValue())) {
                    throw new StateFileException(f + ": hyperparameter " + e.getKey() + " is " + got
                            + " in the file, this optimizer has " + e.getValue());
                }
            }
            int count = in.readInt();
            if (count != params.size()) {
                throw new StateFileException(f + ": holds " + count + " parameters, this optimizer has "
                        + params.size());
            }
            List<Runnable> apply = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                String id = in.readUTF();
                if (!id.equals(ids[i])) {
                    throw new StateFileException(f + ": parameter " + i + " is '" + id + "' in the file, expected '"
                            + ids[i] + "'");
                }
                int rank = in.readInt();
                long[] expected = params.get(i).shape();
                if (rank < 0 || rank > 32) {
                    throw new StateFileException(f + ": parameter '" + id + "': corrupt rank " + rank);
                }
                long[] shape = new long[rank];
                for (int d = 0; d < rank; d++) {
                    shape[d] = in.readLong();
                }
                if (!Arrays.equals(shape, expected)) {
                    throw new StateFileException(f + ": parameter '" + id + "' has shape " + Arrays.toString(shape)
                            + " in the file, expected " + Arrays.toString(expected));
                }
                apply.add(readState(i, in, f + ": parameter '" + id + "'"));
            }
            long computed = crc.getValue();
            long stored = in.readLong();
            if (stored != computed) {
                throw new StateFileException(f + ": checksum mismatch (file corrupt or truncated)");
            }
            if (in.read() != -1) {
                throw new StateFileException(f + ": unexpected bytes after the checksum");
            }
            apply.forEach(Runnable::run);
            steps = fileSteps;
            lr = fileLr;
        } catch (EOFException e) {
            throw new StateFileException(f + ": truncated (" + e.getMessage() + ")");
        }
    }
}
