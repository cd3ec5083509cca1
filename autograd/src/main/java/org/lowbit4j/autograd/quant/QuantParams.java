package org.lowbit4j.autograd.quant;

import java.util.Arrays;

/**
 * Scales and zero points of every group of one tensor, in group order of {@link Granularity#layout}; static
 * parameters come from a calibration pass, dynamic ones from the tensor itself.
 *
 * @param groups one entry per group
 */
public record QuantParams(ElementFormat.GroupParams[] groups) {
    /** @throws IllegalArgumentException if groups is null or holds null */
    public QuantParams {
        if (groups == null || Arrays.asList(groups).contains(null)) {
            throw new IllegalArgumentException("every group needs parameters");
        }
        groups = groups.clone();
    }

    /** @return the scale of each group (a new array) */
    public float[] scales() {
        float[] s = new float[groups.length];
        for (int g = 0; g < s.length; g++) {
            s[g] = groups[g].scale();
        }
        return s;
    }

    /** @return the parameters of group g */
    public ElementFormat.GroupParams group(int g) {
        return groups[g];
    }

    /** @return the number of groups */
    public int size() {
        return groups.length;
    }
}
