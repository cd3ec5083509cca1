package org.lowbit4j.autograd.quant;

import java.util.Locale;
import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.Fp16;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.autograd.formats.FourBitCodebook;

/**
 * Round-to-nearest weight quantization for the evaluation command: what a tensor looks like after a round trip
 * through a format, with no calibration data.
 *
 * <p>Protocol of {@link #quantizeDequantize}: the weights are taken as one flattened row-major array and cut into
 * consecutive blocks of {@code block} values (the last block may be shorter). For each block,
 * {@code a = max |w|} over the block (float32); a block with {@code a = 0} stays all zeros. Then each value, all in
 * float32 arithmetic:
 * <ul>
 *   <li>{@code nf4}, {@code fp4} (bitsandbytes' FP4): {@code v = w * (1 / a)} (or {@code w / a} if {@code 1 / a}
 *       overflows); the nearest code book value
 *       {@code c} (exact midpoints go to the smaller value); result {@code c * a}. Same as
 *       {@link org.lowbit4j.autograd.formats.Packed4Codec}.</li>
 *   <li>{@code int4}, {@code int8}: with {@code Q = 7} or {@code 127}, {@code q = clamp(rint(w * (Q / a)), -Q, Q)}
 *       (half to even; {@code w / a * Q} if {@code Q / a} overflows); result {@code q * (a / Q)}.</li>
 *   <li>{@code fp8-e4m3}, {@code fp8-e5m2}: {@code s = a / max} (448 or 57344) in float64; result
 *       {@code decode(encode((float) (w / s))) * s} rounded to float32, encoding saturating and rounding to nearest
 *       even.</li>
 *   <li>{@code bf16}, {@code fp16}: element-wise {@code decode(encode(w))}, round to nearest even; {@code block}
 *       is ignored (but must still be positive).</li>
 * </ul>
 */
public final class RoundToNearest {
    /** The format names {@link #quantizeDequantize} accepts. */
    public static final java.util.List<String> FORMATS =
            java.util.List.of("nf4", "fp4", "int4", "int8", "fp8-e4m3", "fp8-e5m2", "bf16", "fp16");

    private RoundToNearest() {
    }

    /**
     * @param weights values (not modified)
     * @param format one of {@link #FORMATS} (case-insensitive)
     * @param block values per absmax block, positive
     * @return a new array with the quantize-dequantized values
     * @throws IllegalArgumentException on an unknown format, a non-positive block or a non-finite weight
     */
    public static float[] quantizeDequantize(float[] weights, String format, int block) {
        if (block <= 0) {
            throw new IllegalArgumentException("block must be positive, got " + block);
        }
        String f = format == null ? "" : format.toLowerCase(Locale.ROOT);
        float[] out = new float[weights.length];
        switch (f) {
            case "bf16" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Bf16.decode(Bf16.encode(weights[i]));
                }
                return out;
            }
            case "fp16" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Fp16.decode(Fp16.encode(weights[i]));
                }
                return out;
            }
            case "nf4", "fp4", "int4", "int8", "fp8-e4m3", "fp8-e5m2" -> {
            }
            default -> throw new IllegalArgumentException("unknown format '" + format + "', expected one of "
                    + FORMATS);
        }
        for (int start = 0; start < weights.length; start += block) {
            int end = (int) Math.min(weights.length, (long) start + block);
            float a = 0f;
            for (int i = start; i < end; i++) {
                a = Math.max(a, Math.abs(weights[i]));
            }
            if (!Float.isFinite(a)) {
                throw new IllegalArgumentException("block starting at " + start + " holds a non-finite weight");
            }
            if (a == 0f) {
                continue;
            }
            switch (f) {
                case "nf4", "fp4" -> {
                    var cb = f.equals("nf4") ? FourBitCodebook.NF4 : FourBitCodebook.FP4;
                    float inv = 1f / a;
                    boolean divide = Float.isInfinite(inv);
                    for (int i = start; i < end; i++) {
                        float v = divide ? weights[i] / a : weights[i] * inv;
                        out[i] = cb.value(cb.encode(v)) * a;
                    }
                }
                case "int4", "int8" -> {
                    float q = f.equals("int4") ? 7f : 127f;
                    float toCode = q / a;
                    boolean divide = Float.isInfinite(toCode);
                    float step = a / q;
                    for (int i = start; i < end; i++) {
                        float v = divide ? weights[i] / a * q : weights[i] * toCode;
                        out[i] = Math.max(-q, Math.min(q, (float) Math.rint(v))) * step;
                    }
                }
                default -> {
                    Fp8 fp8 = f.equals("fp8-e4m3") ? Fp8.E4M3FN : Fp8.E5M2;
                    double s = (double) a / fp8.max();
                    for (int i = start; i < end; i++) {
                        out[i] = (float) (fp8.decode(fp8.encode((float) (weights[i] / s), true)) * s);
                    }
                }
            }
        }
        return out;
    }
}
