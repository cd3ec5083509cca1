package org.lowbit4j.mixedprec;

import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.Fp16;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A 16-bit working format, applied by rounding fp32 values to it and widening them back (the values are then
 * exactly representable in the format, kept in fp32 containers).
 */
public enum HalfFormat {
    /** bfloat16: 8 exponent, 7 mantissa bits; round to nearest even; inf and NaN kept. */
    BF16,
    /**
     * IEEE binary16: 5 exponent, 10 mantissa bits; round to nearest even; magnitudes from 65520 up become infinity,
     * magnitudes below 2^-14 become subnormals (steps of 2^-24) and below 2^-25 zero.
     */
    FP16;

    /**
     * Rounds every element in place.
     *
     * @param x a FLOAT array, C-ordered and contiguous
     * @throws IllegalArgumentException for another data type or a non-contiguous array
     */
    public void roundInPlace(INDArray x) {
        if (x.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException(this + " rounding needs a FLOAT array, got " + x.dataType());
        }
        if (x.isEmpty()) {
            return;
        }
        switch (this) {
            case BF16 -> Bf16.roundInPlace(x);
            case FP16 -> Fp16.roundInPlace(x);
        }
    }

    /**
     * @param x a FLOAT array of any layout
     * @return a new C-ordered array holding x rounded to this format
     */
    public INDArray round(INDArray x) {
        if (x.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException(this + " rounding needs a FLOAT array, got " + x.dataType());
        }
        return switch (this) {
            case BF16 -> Bf16.rounded(x);
            case FP16 -> Fp16.rounded(x);
        };
    }
}
