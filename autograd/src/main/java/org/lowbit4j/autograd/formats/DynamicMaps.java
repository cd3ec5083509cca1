package org.lowbit4j.autograd.formats;

import java.util.Arrays;

/**
 * The dynamic ("tree") quantization maps of bitsandbytes ({@code create_dynamic_map}), built the way the
 * reference builds them: in float32, with PyTorch's {@code linspace} arithmetic.
 *
 * <p>For each exponent step i, the map holds the midpoints of consecutive points of
 * {@code linspace(0.1, 1, n_i)} multiplied by {@code 10^(i - (E - 1))}:
 * <ul>
 *   <li>{@link #signed8()}: E = 7, i = 0..6, 2^i midpoints per i, both signs, plus 0 and 1.0 (256 values);</li>
 *   <li>{@link #unsigned8()}: E = 7, i = 0..6, 2^(i+1) midpoints per i, no negatives, plus 0 and 1.0
 *       (254 + 2 = 256 values);</li>
 *   <li>{@link #signed4()}: E = 3, i = 0..2, 2^i midpoints per i, both signs, plus 0 and 1.0 (16 values),
 *       used for 4-bit optimizer states.</li>
 * </ul>
 * All maps are sorted ascending, so a code is the index of its value. Every accessor returns a fresh copy.
 */
public final class DynamicMaps {
    private static final float[] SIGNED8 = build(true, 7, 8);
    private static final float[] UNSIGNED8 = build(false, 7, 8);
    private static final float[] SIGNED4 = build(true, 3, 4);

    private DynamicMaps() {
    }

    /**
     * @return the signed 8-bit dynamic map, 256 values ascending from -0.99296875 to 1.0 (only +1.0 is exact:
     *     the construction adds 1.0 but not -1.0), with one 0 (a copy)
     */
    public static float[] signed8() {
        return SIGNED8.clone();
    }

    /** @return the unsigned 8-bit dynamic map, 256 values ascending from 0 to 1.0 (a copy) */
    public static float[] unsigned8() {
        return UNSIGNED8.clone();
    }

    /** @return the signed 4-bit dynamic map, 16 values ascending from -0.8875 to 1.0 (a copy) */
    public static float[] signed4() {
        return SIGNED4.clone();
    }

    /** Floats per vector in PyTorch's AVX2 CPU kernels, which {@link #torchLinspace} reproduces. */
    static final int TORCH_VECTOR_WIDTH = 8;

    /**
     * {@code torch.linspace(start, end, steps)} in float32, bit for bit as PyTorch 1.13's CPU kernel
     * (AVX2 build) computes it; checked against PyTorch output in {@code DynamicMapsGoldenTest}. A
     * float step; the first half counted up from {@code start}, the second half down from {@code end}.
     *
     * <p>NOTE: two roundings differ from the obvious formula. The kernel's scalar path,
     * {@code start + step * i}, is compiled to one fused multiply-add; its vectorized path fills
     * chunks of 8 from the chunk's first value as {@code base + j * step}, rounding the product and
     * the sum separately. Chunks are taken two vectors (16 elements) at a time; the tail is scalar.
     */
    static float[] torchLinspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (steps - 1);
        int w = TORCH_VECTOR_WIDTH;
        int i = 0;
        for (; i + 2 * w <= steps; i += 2 * w) {
            for (int chunk = i; chunk < i + 2 * w; chunk += w) {
                float base = linspaceScalar(start, end, step, steps, chunk);
                for (int j = 0; j < w; j++) {
                    out[chunk + j] = base + j * step;
                }
            }
        }
        for (; i < steps; i++) {
            out[i] = linspaceScalar(start, end, step, steps, i);
        }
        return out;
    }

    /** Element i of PyTorch's scalar linspace path: one fused multiply-add. */
    private static float linspaceScalar(float start, float end, float step, int steps, int i) {
        return i < steps / 2 ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
    }

    private static float[] build(boolean signed, int maxExponentBits, int totalBits) {
        int nonSignBits = totalBits - 1;
        float[] data = new float[1 << totalBits];
        int n = 0;
        for (int i = 0; i < maxExponentBits; i++) {
            int fractionItems = signed
                    ? (1 << (i + nonSignBits - maxExponentBits)) + 1
                    : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1;
            float[] boundaries = torchLinspace(0.1f, 1f, fractionItems);
            // NOTE: Python computes 10 ** k as a double, and torch multiplies a float32 tensor by it in float32.
            float factor = (float) Math.pow(10, -(maxExponentBits - 1) + i);
            for (int j = 0; j + 1 < fractionItems; j++) {
                float mean = (boundaries[j] + boundaries[j + 1]) / 2.0f;
                data[n++] = factor * mean;
                if (signed) {
                    data[n++] = -factor * mean;
                }
            }
        }
        data[n++] = 0f;
        data[n++] = 1.0f;
        if (n != data.length) {
            throw new AssertionError("dynamic map has " + n + " values, expected " + data.length);
        }
        Arrays.sort(data);
        return data;
    }
}
