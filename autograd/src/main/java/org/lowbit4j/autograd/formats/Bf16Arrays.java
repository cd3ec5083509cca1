package org.lowbit4j.autograd.formats;

import java.lang.ref.Reference;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Conversions between FLOAT and ND4J's native {@link DataType#BFLOAT16} arrays (2 bytes per element,
 * the top half of the fp32 bit pattern), with {@link Bf16}'s rounding: nearest, ties to even,
 * infinities kept, NaN stays a (quiet) NaN. These are the operands of
 * {@link org.lowbit4j.autograd.blas.Gemm#gemmBf16}.
 *
 * <p>NOTE: ND4J's own {@code castTo(BFLOAT16)} is not used for narrowing: its rounding is libnd4j's
 * business and not specified; widening ({@link #toFloat}) is exact either way.
 */
public final class Bf16Arrays {
    private Bf16Arrays() {
    }

    /**
     * Rounds a FLOAT array to a new bf16 array.
     *
     * @param floatArray any shape and layout (views are copied to C order first)
     * @return a new C-ordered BFLOAT16 array of the same shape
     * @throws IllegalArgumentException if the array is not FLOAT
     */
    public static INDArray toBf16(INDArray floatArray) {
        requireType("toBf16", floatArray, DataType.FLOAT);
        INDArray out = Nd4j.createUninitialized(DataType.BFLOAT16, floatArray.shape(), 'c');
        toBf16(floatArray, out);
        return out;
    }

    /**
     * Rounds a FLOAT array into an existing bf16 array (to reuse one buffer step after step).
     *
     * @param floatArray any shape and layout
     * @param bf16Out a C-ordered contiguous BFLOAT16 array of the same shape, overwritten
     * @throws IllegalArgumentException on wrong types, different shapes or a non-contiguous output
     */
    public static void toBf16(INDArray floatArray, INDArray bf16Out) {
        requireType("toBf16", floatArray, DataType.FLOAT);
        requireType("toBf16 output", bf16Out, DataType.BFLOAT16);
        requireSameShape(floatArray, bf16Out);
        long n = floatArray.length();
        if (n == 0) {
            return;
        }
        INDArray src = contiguousC(floatArray);
        DenseBlock.split(Segments.of(src), 4, Segments.of(bf16Out), 2, n, Bf16::encode);
        Reference.reachabilityFence(src); // a temporary C-ordered copy must outlive the kernels reading it
    }

    /**
     * Widens a bf16 array to fp32 (exact).
     *
     * @param bf16Array any shape and layout
     * @return a new C-ordered FLOAT array of the same shape
     * @throws IllegalArgumentException if the array is not BFLOAT16
     */
    public static INDArray toFloat(INDArray bf16Array) {
        requireType("toFloat", bf16Array, DataType.BFLOAT16);
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, bf16Array.shape(), 'c');
        long n = bf16Array.length();
        if (n > 0) {
            INDArray src = contiguousC(bf16Array);
            DenseBlock.split(Segments.of(src), 2, Segments.of(out), 4, n, Bf16::decode);
            Reference.reachabilityFence(src);
        }
        return out;
    }

    private static INDArray contiguousC(INDArray x) {
        boolean denseC = x.ordering() == 'c' && (x.length() <= 1 || x.elementWiseStride() == 1);
        return denseC ? x : x.dup('c');
    }

    private static void requireType(String what, INDArray x, DataType type) {
        if (x == null || x.dataType() != type) {
            throw new IllegalArgumentException(what + ": expected a " + type + " array, got "
                    + (x == null ? "null" : x.dataType() + " " + Arrays.toString(x.shape())));
        }
    }

    private static void requireSameShape(INDArray a, INDArray b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException("toBf16: shapes differ: input " + Arrays.toString(a.shape())
                    + ", output " + Arrays.toString(b.shape()));
        }
        if (b.ordering() != 'c' || (b.length() > 1 && b.elementWiseStride() != 1)) {
            throw new IllegalArgumentException("toBf16: the output must be C-ordered and contiguous, got order '"
                    + b.ordering() + "' shape " + Arrays.toString(b.shape()) + " stride " + Arrays.toString(b.stride()));
        }
    }
}
