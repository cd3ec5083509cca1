package org.lowbit4j.optim.kernel;

/**
 * bfloat16 conversions: a bf16 is the upper 16 bits of a float32 (1 sign, 8 exponent, 7 mantissa bits).
 *
 * <p>Stochastic rounding adds 16 random bits below the kept mantissa and truncates, so a value between two
 * bf16 numbers rounds up with probability equal to its distance from the lower one: small optimizer updates
 * survive in expectation instead of being rounded away. The random bits are a pure function of (seed, step,
 * parameter, element), so runs are reproducible and independent of threading.
 */
public final class Bf16 {
    private Bf16() {
    }

    /** @return the float32 value of bf16 bits */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** @return the bf16 nearest to {@code f}, ties to even; NaN stays NaN */
    public static short roundNearest(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((b >>> 16) | 0x40);
        }
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
    }

    /**
     * @param f the value
     * @param random16 random bits, only the low 16 are used
     * @return {@code f} rounded up or down to a neighbouring bf16 with probability proportional to proximity
     */
    public static short roundStochastic(float f, int random16) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((b >>> 16) | 0x40);
        }
        // NOTE: works on the magnitude bits, so negative values round symmetrically; a carry into the
        // exponent is exactly the next bf16 (and past the largest finite value, infinity).
        if ((b & 0x7F800000) == 0x7F800000) {
            return (short) (b >>> 16);
        }
        return (short) ((b + (random16 & 0xFFFF)) >>> 16);
    }

    /** @return a stream key for one parameter at one step */
    public static long stream(long seed, long step, int paramIndex) {
        return mix(mix(seed ^ 0x9E3779B97F4A7C15L) ^ mix(step * 0xD1B54A32D192ED03L + paramIndex));
    }

    /** @return 32 random bits for element {@code i} of a stream */
    public static int randomBits(long stream, long i) {
        return (int) (mix(stream + i * 0x9E3779B97F4A7C15L) >>> 32);
    }

    /** SplitMix64's finaliser: a bijective avalanche mix. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
