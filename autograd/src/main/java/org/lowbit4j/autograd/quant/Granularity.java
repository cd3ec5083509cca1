package org.lowbit4j.autograd.quant;

import java.util.Arrays;

/**
 * Which elements share one scale. Elements are addressed in row-major order; "rows" are the flattening of all
 * dimensions but the last, whose size C is the row length (for a weight {@code [out, in]}: out rows of in).
 */
public sealed interface Granularity {
    /** One scale for the whole tensor. */
    record PerTensor() implements Granularity {
    }

    /**
     * One scale per index along {@code axis}: for a weight {@code [out, in]}, axis 0 gives one scale per output
     * channel (row) and axis 1 one per input channel (column). Negative axes count from the end.
     */
    record PerChannel(int axis) implements Granularity {
    }

    /** One scale per row (token) of the last dimension, normally computed on the fly for activations. */
    record PerToken() implements Granularity {
    }

    /**
     * {@code groupSize} consecutive elements of each row share a scale (group-wise weight quantization: g inputs
     * per output channel); the last group of a row may be shorter.
     */
    record Groupwise(int groupSize) implements Granularity {
        /** @throws IllegalArgumentException unless groupSize is positive */
        public Groupwise {
            if (groupSize <= 0) {
                throw new IllegalArgumentException("group size must be positive, got " + groupSize);
            }
        }
    }

    /** Blocks of {@code blockSize} consecutive elements of the flattened tensor (may span rows). */
    record Blockwise(int blockSize) implements Granularity {
        /** @throws IllegalArgumentException unless blockSize is positive */
        public Blockwise {
            if (blockSize <= 0) {
                throw new IllegalArgumentException("block size must be positive, got " + blockSize);
            }
        }
    }

    /**
     * Elements grouped by scale: group g holds {@code members[offsets[g] .. offsets[g+1])}, in increasing
     * element order.
     */
    record Layout(int groups, int[] offsets, int[] members) {
    }

    /**
     * @param shape tensor shape (rank 0 counts as one element)
     * @return the group of every element
     * @throws IllegalArgumentException on an axis outside the shape or more than 2^31 - 1 elements
     */
    default Layout layout(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor of " + n + " elements is too large to fake-quantize");
        }
        int numel = (int) n;
        long cols = shape.length == 0 ? 1 : shape[shape.length - 1];
        int[] group = new int[numel];
        int groups;
        switch (this) {
            case PerTensor t -> groups = numel == 0 ? 0 : 1;
            case PerToken t -> {
                groups = cols == 0 ? 0 : (int) (numel / cols);
                for (int e = 0; e < numel; e++) {
                    group[e] = (int) (e / cols);
                }
            }
            case PerChannel c -> {
                int axis = c.axis() < 0 ? c.axis() + shape.length : c.axis();
                if (axis < 0 || axis >= shape.length) {
                    throw new IllegalArgumentException("per-channel axis " + c.axis() + " outside shape "
                            + Arrays.toString(shape));
                }
                long stride = 1;
                for (int d = axis + 1; d < shape.length; d++) {
                    stride *= shape[d];
                }
                groups = (int) shape[axis];
                for (int e = 0; e < numel; e++) {
                    group[e] = (int) ((e / stride) % shape[axis]);
                }
            }
            case Groupwise g -> {
                long perRow = (cols + g.groupSize() - 1) / g.groupSize();
                groups = cols == 0 ? 0 : (int) (numel / cols * perRow);
                for (int e = 0; e < numel; e++) {
                    group[e] = (int) ((e / cols) * perRow + (e % cols) / g.groupSize());
                }
            }
            case Blockwise b -> {
                groups = (int) ((numel + (long) b.blockSize() - 1) / b.blockSize());
                for (int e = 0; e < numel; e++) {
                    group[e] = e / b.blockSize();
                }
            }
        }
        int[] offsets = new int[groups + 1];
        for (int e = 0; e < numel; e++) {
            offsets[group[e] + 1]++;
        }
        for (int g = 0; g < groups; g++) {
            offsets[g + 1] += offsets[g];
        }
        int[] fill = Arrays.copyOf(offsets, groups);
        int[] members = new int[numel];
        for (int e = 0; e < numel; e++) {
            members[fill[group[e]]++] = e;
        }
        return new Layout(groups, offsets, members);
    }
}
