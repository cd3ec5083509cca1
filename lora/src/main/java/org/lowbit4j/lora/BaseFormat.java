package org.lowbit4j.lora;

/**
 * How the frozen base weight of a {@link LoraLinear} is stored.
 */
public enum BaseFormat {
    /** The original dense array (FLOAT, or DOUBLE for float64 checks): 4 bytes per weight. */
    FP32,
    /** bfloat16 (round to nearest even): 2 bytes per weight, decoded tile by tile. */
    BF16,
    /** NF4 with blocks of 64 and double-quantized block maxima (QLoRA): about 0.516 bytes per weight. */
    NF4
}
