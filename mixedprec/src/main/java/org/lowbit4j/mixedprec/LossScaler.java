package org.lowbit4j.mixedprec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Loss scaling for FP16 training: the loss is multiplied by the scale before backward so that small gradients do
 * not underflow in FP16, and the gradients are divided by it again before clipping and the optimizer step. A step
 * whose gradients contain inf or NaN is skipped (the caller does not call the optimizer), and, when dynamic, the
 * scale is halved; after {@code growthInterval} clean steps in a row it doubles.
 *
 * <pre>{@code
 * scaler.scale(loss).backward();                 // backward on loss * S
 * boolean finite = scaler.unscale(params);       // grads /= S; false if any is inf/NaN
 * if (finite) { GradClip.clipGradNorm(params, 1.0); opt.step(); }
 * scaler.update(finite);                         // adapt S, log a skipped step
 * opt.zeroGrad();
 * }</pre>
 *
 * <p>Every skipped step is logged at WARN with its step index and the new scale. The state (scale, clean-step
 * counter, counts) is saved with {@link #save} and restored with {@link #load}, so a resumed run scales exactly as
 * one that never stopped.
 */
public final class LossScaler {
    private static final Logger LOG = LogManager.getLogger(LossScaler.class);
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int FORMAT_VERSION = 1;

    private final LossScalerConfig config;
    private double scale;
    private int cleanSteps;
    private long steps;
    private long skippedSteps;
    private boolean unscaled;

    /** @param config the settings */
    public LossScaler(LossScalerConfig config) {
        this.config = java.util.Objects.requireNonNull(config, "config");
        this.scale = config.initialScale();
    }

    /** @return the settings */
    public LossScalerConfig config() {
        return config;
    }

    /** @return the current scale S */
    public double scale() {
        return scale;
    }

    /** @return how many times {@link #update} has run */
    public long steps() {
        return steps;
    }

    /** @return how many of those steps had inf/NaN gradients (and were skipped) */
    public long skippedSteps() {
        return skippedSteps;
    }

    /**
     * @param loss a scalar loss
     * @return loss * S (backward through it gives S times the gradients)
     */
    public Tensor scale(Tensor loss) {
        unscaled = false;
        return F.scale(loss, scale);
    }

    /**
     * Divides every gradient by S in place and reports whether all of them are finite. Call once per step, after
     * backward and before clipping.
     *
     * @param params the trained parameters; those without a gradient are skipped
     * @return true if every gradient element is finite
     * @throws IllegalStateException if called twice without a {@link #scale} in between
     */
    public boolean unscale(List<Tensor> params) {
        if (unscaled) {
            throw new IllegalStateException("LossScaler.unscale called twice for one backward");
        }
        unscaled = true;
        // NOTE: 1/S is exact for the power-of-two scales dynamic scaling produces, so unscaling does not round.
        float inv = (float) (1.0 / scale);
        boolean finite = true;
        for (Tensor p : params) {
            INDArray g = p.grad();
            if (g != null && !g.isEmpty()) {
                finite &= unscaleInPlace(g, inv);
            }
        }
        return finite;
    }

    /**
     * Ends a step: on inf/NaN gradients counts and logs a skipped step and (dynamic) multiplies S by the backoff
     * factor; otherwise counts a clean step and (dynamic) multiplies S by the growth factor after
     * {@code growthInterval} clean steps in a row.
     *
     * @param gradientsFinite what {@link #unscale} returned for this step
     */
    public void update(boolean gradientsFinite) {
        long step = steps++;
        unscaled = false;
        if (!gradientsFinite) {
            skippedSteps++;
            cleanSteps = 0;
            double before = scale;
            if (config.dynamic()) {
                scale = scale * config.backoffFactor();
            }
            LOG.warn("step {} skipped: inf/NaN gradients at loss scale {}; scale now {}", step, before, scale);
            return;
        }
        if (config.dynamic() && ++cleanSteps >= config.growthInterval()) {
            scale = scale * config.growthFactor();
            cleanSteps = 0;
        }
    }

    /**
     * Multiplies a gradient by {@code inv} in place and tests it for inf/NaN in the same pass.
     *
     * @param g a FLOAT or DOUBLE array
     * @return true if every element is finite afterwards
     */
    static boolean unscaleInPlace(INDArray g, float inv) {
        if (g.dataType() != DataType.FLOAT || g.ordering() != 'c' || (g.length() > 1 && g.elementWiseStride() != 1)) {
            g.muli(inv);
            return Double.isFinite(g.sumNumber().doubleValue()) && Double.isFinite(g.amaxNumber().doubleValue());
        }
        return unscaleVector(Segments.of(g), g.length(), inv);
    }

    /** Vector API kernel: seg[i] *= inv for i in [0, n); @return all results finite. */
    static boolean unscaleVector(MemorySegment seg, long n, float inv) {
        var order = ByteOrder.nativeOrder();
        int lanes = S.length();
        boolean finite = true;
        long i = 0;
        for (; i <= n - lanes; i += lanes) {
            FloatVector v = FloatVector.fromMemorySegment(S, seg, i * 4, order).mul(inv);
            v.intoMemorySegment(seg, i * 4, order);
            // NOTE: x - x is 0 for every finite x and NaN for inf or NaN; NaN != NaN fails the comparison.
            finite &= v.sub(v).compare(VectorOperators.EQ, 0f).allTrue();
        }
        for (; i < n; i++) {
            float x = seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i) * inv;
            seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, x);
            finite &= Float.isFinite(x);
        }
        return finite;
    }

    /** Scalar twin of {@link #unscaleVector}. */
    static boolean unscaleScalar(MemorySegment seg, long n, float inv) {
        boolean finite = true;
        for (long i = 0; i < n; i++) {
            float x = seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i) * inv;
            seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, x);
            finite &= Float.isFinite(x);
        }
        return finite;
    }

    /**
     * Writes the state as JSON, atomically (a temporary file in the same directory, then moved over {@code file}).
     *
     * @throws IOException on a write failure (a previous file is left intact)
     */
    public void save(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode().put("format", "lowbit4j-loss-scaler").put("version", FORMAT_VERSION)
                .put("dynamic", config.dynamic()).put("scale", scale).put("clean_steps", cleanSteps)
                .put("steps", steps).put("skipped_steps", skippedSteps);
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try {
            json.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), o);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Restores a state written by {@link #save}; nothing changes unless the whole file is valid.
     *
     * @throws IOException on a read failure or malformed JSON
     * @throws IllegalArgumentException naming the file and field if the file is not a loss-scaler state, has another
     *     version, disagrees with this scaler's dynamic/static mode or holds an invalid value
     */
    public void load(Path file) throws IOException {
        JsonNode o = new ObjectMapper().readTree(file.toFile());
        if (o == null || !"lowbit4j-loss-scaler".equals(o.path("format").asText())) {
            throw new IllegalArgumentException(file + ": not a lowbit4j loss-scaler state (field 'format' expected "
                    + "\"lowbit4j-loss-scaler\", got " + (o == null ? "an empty file" : o.path("format")) + ")");
        }
        int version = o.path("version").asInt(-1);
        if (version != FORMAT_VERSION) {
            throw new IllegalArgumentException(file + ": field 'version' expected " + FORMAT_VERSION + ", got "
                    + o.path("version"));
        }
        boolean dynamic = o.path("dynamic").asBoolean();
        if (dynamic != config.dynamic()) {
            throw new IllegalArgumentException(file + ": field 'dynamic' expected " + config.dynamic() + ", got "
                    + dynamic);
        }
        double s = o.path("scale").asDouble(Double.NaN);
        int clean = o.path("clean_steps").asInt(-1);
        long st = o.path("steps").asLong(-1);
        long sk = o.path("skipped_steps").asLong(-1);
        if (!(s > 0) || Double.isInfinite(s)) {
            throw new IllegalArgumentException(file + ": field 'scale' expected a finite value > 0, got " + o.path("scale"));
        }
        if (clean < 0 || st < 0 || sk < 0 || sk > st) {
            throw new IllegalArgumentException(file + ": fields 'clean_steps', 'steps', 'skipped_steps' expected "
                    + "counts >= 0 with skipped <= steps, got " + clean + ", " + st + ", " + sk);
        }
        scale = s;
        cleanSteps = clean;
        steps = st;
        skippedSteps = sk;
        unscaled = false;
    }

    @Override
    public String toString() {
        return (config.dynamic() ? "dynamic" : "static") + " loss scale " + scale + " (" + skippedSteps + " of "
                + steps + " steps skipped)";
    }
}
