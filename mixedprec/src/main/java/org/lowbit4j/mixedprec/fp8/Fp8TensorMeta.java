package org.lowbit4j.mixedprec.fp8;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.Objects;
import org.lowbit4j.autograd.blas.Gemm;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.autograd.formats.Segments;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The scaling state of one FP8 tensor (a layer's input, weight or output gradient): a ring of the last
 * {@link Fp8Recipe#amaxHistoryLen()} amaxes, and the scale used by the latest call.
 *
 * <p>{@link #quantizeDequantize} follows Transformer Engine's delayed scaling:
 * <ol>
 *   <li>the amax the scale comes from is, under {@link Fp8Recipe.Scaling#DELAYED}, taken from the history
 *       of the PREVIOUS calls ({@link Fp8Recipe.AmaxCompute#MAX}: the largest of them;
 *       {@link Fp8Recipe.AmaxCompute#MOST_RECENT}: the latest), so the tensor being quantized does not
 *       influence its own scale; under {@link Fp8Recipe.Scaling#CURRENT} it is the tensor's own amax;</li>
 *   <li>{@code scale = (FP8_MAX * 2^-margin) / amax}, rounded down to a power of two if the recipe asks;
 *       if that amax is 0, infinite or NaN, the previous scale is kept (TE does the same); a scale that
 *       overflows fp32 is clamped to {@code Float.MAX_VALUE} (TE's current-scaling rule) and one below the
 *       smallest normal fp32 to {@code Float.MIN_NORMAL};</li>
 *   <li>{@code y = round_fp8(x * scale) * (1 / scale)}; magnitudes beyond the format's max after scaling
 *       saturate to ±FP8_MAX (so ±FP8_MAX / scale after dequantization), as TE's saturating cast;</li>
 *   <li>the tensor's own amax (max |x|, NaNs ignored as CUDA's {@code fmaxf}) is appended to the
 *       history (also under CURRENT scaling, for logging).</li>
 * </ol>
 *
 * <p><b>Empty history (first call).</b> TE starts every scale at 1, so its first step casts raw values
 * (weights of std 0.02 keep about 2 significant bits in E4M3 at scale 1, gradients of 1e-4 flush to zero).
 * This class instead scales <em>just in time</em> from the tensor's own amax for as long as no usable
 * amax (positive and finite) has been recorded: the first call behaves exactly as current scaling,
 * and a tensor that is all zeros on its first calls (a zero-initialized weight, say) keeps being scaled
 * just in time until it is not. From then on the history alone decides. Before any call, {@link #scale()}
 * is 1.
 *
 * <p>NOTE: an infinite amax is recorded as TE records it; under MAX it then pins the history's amax at
 * infinity, so the scale stays frozen at its last value for {@code amaxHistoryLen} calls.
 *
 * <p>Each call appends one history entry (a weight used by two layers, or in evaluation passes, advances
 * its history at each use). Not thread-safe.
 */
public final class Fp8TensorMeta {
    private final Fp8Recipe recipe;
    private final float[] history;
    /** Ring position the next amax goes to. */
    private int next;
    private long calls;
    /** Whether a positive finite amax has been recorded (ends just-in-time scaling). */
    private boolean calibrated;
    private float scale = 1f;
    private float scaleInv = 1f;
    private float lastAmax;

    /**
     * @param recipe history length, amax algorithm, margin, power-of-two rounding, scaling mode
     * @throws NullPointerException if recipe is null
     */
    public Fp8TensorMeta(Fp8Recipe recipe) {
        this.recipe = Objects.requireNonNull(recipe, "recipe");
        this.history = new float[recipe.amaxHistoryLen()];
    }

    /**
     * Fake-quantizes a tensor with this meta's scale and records its amax (see the class comment for which
     * amax sets the scale).
     *
     * @param x any shape, FLOAT; not modified
     * @param format the element format (E4M3FN or E5M2)
     * @return a new dense C-ordered FLOAT array of x's shape: {@code round_fp8(x * scale) / scale}
     * @throws IllegalArgumentException if x is not FLOAT
     */
    public INDArray quantizeDequantize(INDArray x, Fp8 format) {
        Objects.requireNonNull(format, "format");
        INDArray src = denseFloat("Fp8TensorMeta.quantizeDequantize", x);
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, src.shape(), 'c');
        quantizeDequantizeDense(src, format, out);
        return out;
    }

    /**
     * As {@link #quantizeDequantize(INDArray, Fp8)}, into an array the caller owns: the same values and the
     * same recorded amax, without a new [x's shape] allocation (the FP8 classifier's [N, V] gradient is
     * 262 MB a step at the stories15M shape).
     *
     * @param x any shape, FLOAT
     * @param format the element format (E4M3FN or E5M2)
     * @param out a dense C-ordered FLOAT array of x's shape; may be x itself (then x is replaced by its
     *     fake-quantized values)
     * @throws IllegalArgumentException if x or out is not FLOAT, or out is not dense C-ordered of x's shape
     */
    public void quantizeDequantize(INDArray x, Fp8 format, INDArray out) {
        Objects.requireNonNull(format, "format");
        if (out.dataType() != DataType.FLOAT || !Arrays.equals(out.shape(), x.shape()) || out.ordering() != 'c'
                || (out.length() > 1 && out.elementWiseStride() != 1)) {
            throw new IllegalArgumentException("Fp8TensorMeta.quantizeDequantize: the output must be a dense C-ordered"
                    + " FLOAT array of shape " + Arrays.toString(x.shape()) + ", got " + out.dataType() + " "
                    + Arrays.toString(out.shape()) + " order '" + out.ordering() + "'");
        }
        quantizeDequantizeDense(denseFloat("Fp8TensorMeta.quantizeDequantize", x), format, out);
    }

    /** The amax pass, the scale update and the fake-quantization pass; src and out dense C FLOAT (may be one). */
    private void quantizeDequantizeDense(INDArray src, Fp8 format, INDArray out) {
        long n = src.length();
        if (n == 0) {
            return;
        }
        MemorySegment in = Segments.of(src);
        MemorySegment dst = Segments.of(out);
        float amax = amaxOnCores(in, n);
        boolean justInTime = recipe.scaling() == Fp8Recipe.Scaling.CURRENT || !calibrated;
        float s = scaleFromAmax(justInTime ? amax : historyAmax(), format.max(), recipe.margin(),
                recipe.powerOfTwoScale(), scale);
        scale = s;
        scaleInv = 1f / s;
        record(amax);
        float sc = scale;
        float inv = scaleInv;
        Gemm.forEachRange(n, (from, to) -> Fp8Kernels.quantizeDequantize(format, in.asSlice(from * 4, (to - from) * 4),
                dst.asSlice(from * 4, (to - from) * 4), to - from, sc, inv));
        Reference.reachabilityFence(src);
        Reference.reachabilityFence(out);
    }

    /**
     * {@link Fp8Kernels#amax} over the ranges of {@link Gemm#forEachRange}: the larger of the two (exact, as a maximum of values that are
     * never NaN is whichever way it is split).
     */
    private static float amaxOnCores(MemorySegment in, long n) {
        float[] part = new float[2];
        Gemm.forEachRange(n, (from, to) -> part[from == 0 ? 0 : 1] =
                Fp8Kernels.amax(in.asSlice(from * 4, (to - from) * 4), to - from));
        return Math.max(part[0], part[1]);
    }

    /**
     * @return FP8_MAX * 2^-margin / amax (power-of-two rounded down if asked, clamped to the normal fp32
     *     range), or {@code previous} if amax is 0, negative, infinite or NaN
     */
    static float scaleFromAmax(float amax, float fp8Max, int margin, boolean powerOfTwo, float previous) {
        if (!(amax > 0f) || Float.isInfinite(amax)) {
            return previous;
        }
        float s = Math.scalb(fp8Max, -margin) / amax;
        if (Float.isInfinite(s)) {
            s = Float.MAX_VALUE;
        }
        // NOTE: a subnormal scale would make 1 / scale infinite; clamp (only reachable with a large margin)
        s = Math.max(s, Float.MIN_NORMAL);
        if (powerOfTwo) {
            s = Float.intBitsToFloat(Float.floatToRawIntBits(s) & 0xFF800000);
        }
        return s;
    }

    private void record(float amax) {
        history[next] = amax;
        next = (next + 1) % history.length;
        calls++;
        lastAmax = amax;
        if (amax > 0f && !Float.isInfinite(amax)) {
            calibrated = true;
        }
    }

    /**
     * @return the amax the next delayed scale would come from: the largest recorded amax (MAX; NaN-free by
     *     construction, infinity if one was recorded) or the latest one (MOST_RECENT); 0 before any call
     */
    public float historyAmax() {
        int filled = (int) Math.min(calls, history.length);
        if (filled == 0) {
            return 0f;
        }
        if (recipe.amaxCompute() == Fp8Recipe.AmaxCompute.MOST_RECENT) {
            return history[(next - 1 + history.length) % history.length];
        }
        float m = 0f;
        for (int i = 0; i < filled; i++) {
            if (history[i] > m) {
                m = history[i];
            }
        }
        return m;
    }

    /** @return the recorded amaxes, oldest first (at most amaxHistoryLen of them; a copy) */
    public float[] amaxHistory() {
        int filled = (int) Math.min(calls, history.length);
        float[] out = new float[filled];
        int start = calls <= history.length ? 0 : next;
        for (int i = 0; i < filled; i++) {
            out[i] = history[(start + i) % history.length];
        }
        return out;
    }

    /** @return the scale used by the latest call (1 before any) */
    public float scale() {
        return scale;
    }

    /** @return 1 / {@link #scale()} as stored (the dequantization factor) */
    public float scaleInv() {
        return scaleInv;
    }

    /** @return the amax of the latest call's tensor (0 before any) */
    public float lastAmax() {
        return lastAmax;
    }

    /** @return how many tensors this meta has quantized */
    public long calls() {
        return calls;
    }

    /** @return whether a positive finite amax has been recorded (until then scaling is just in time) */
    public boolean calibrated() {
        return calibrated;
    }

    /** @return the recipe */
    public Fp8Recipe recipe() {
        return recipe;
    }

    @Override
    public String toString() {
        return String.format("scale=%.6g amax=%.6g historyAmax=%.6g calls=%d", scale, lastAmax, historyAmax(),
                calls);
    }

    /** Writes the complete state (the recipe is written by the caller). */
    void write(DataOutputStream out) throws IOException {
        out.writeFloat(scale);
        out.writeFloat(scaleInv);
        out.writeFloat(lastAmax);
        out.writeLong(calls);
        out.writeBoolean(calibrated);
        out.writeInt(next);
        out.writeInt(history.length);
        for (float h : history) {
            out.writeFloat(h);
        }
    }

    /**
     * Reads a state written by {@link #write}.
     *
     * @param what names the meta in messages (file, weight, role)
     * @throws Fp8StateException if the stored history length differs from the recipe's or a field is
     *     out of range
     */
    static Fp8TensorMeta read(DataInputStream in, Fp8Recipe recipe, String what) throws IOException {
        Fp8TensorMeta m = new Fp8TensorMeta(recipe);
        m.scale = in.readFloat();
        m.scaleInv = in.readFloat();
        m.lastAmax = in.readFloat();
        m.calls = in.readLong();
        m.calibrated = in.readBoolean();
        m.next = in.readInt();
        int len = in.readInt();
        if (len != m.history.length) {
            throw new Fp8StateException(what + ": amax history of " + len + " entries, the recipe has "
                    + m.history.length);
        }
        if (m.calls < 0 || m.next < 0 || m.next >= len || !(m.scale > 0f) || Float.isInfinite(m.scale)) {
            throw new Fp8StateException(what + ": corrupt state (calls " + m.calls + ", ring position " + m.next
                    + ", scale " + m.scale + ")");
        }
        for (int i = 0; i < len; i++) {
            m.history[i] = in.readFloat();
        }
        return m;
    }

    /** @return whether two metas hold the same state, bit for bit (for tests and checks) */
    boolean sameState(Fp8TensorMeta o) {
        return Float.floatToRawIntBits(scale) == Float.floatToRawIntBits(o.scale)
                && Float.floatToRawIntBits(scaleInv) == Float.floatToRawIntBits(o.scaleInv)
                && Float.floatToRawIntBits(lastAmax) == Float.floatToRawIntBits(o.lastAmax) && calls == o.calls
                && calibrated == o.calibrated && next == o.next && Arrays.equals(history, o.history)
                && recipe.equals(o.recipe);
    }

    /**
     * @return a itself if it is dense C-ordered, else a dense C-ordered copy
     * @throws IllegalArgumentException if a is not FLOAT
     */
    static INDArray denseFloat(String op, INDArray a) {
        if (a.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException(op + ": FP8 runs on FLOAT tensors, got " + a.dataType()
                    + " of shape " + Arrays.toString(a.shape()));
        }
        boolean dense = a.ordering() == 'c' && (a.length() <= 1 || a.elementWiseStride() == 1);
        return dense ? a : a.dup('c');
    }
}
