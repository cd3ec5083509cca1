package org.lowbit4j.autograd.ops;

import java.util.Arrays;
import org.lowbit4j.autograd.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Reorders dimensions (output dim i is input dim perm[i]); the result is a dense C-ordered copy. */
public final class Permute extends Function {
    private final int[] perm;
    private int[] inverse;

    /** @param perm a permutation of 0..rank-1 (negative entries count from the end) */
    public Permute(int... perm) {
        this.perm = perm.clone();
    }

    /** @return the permutation swapping d0 and d1 of a rank-{@code rank} array */
    public static int[] swap(int rank, int d0, int d1) {
        int a = Shapes.axis("transpose", rank, d0);
        int b = Shapes.axis("transpose", rank, d1);
        int[] p = new int[rank];
        for (int i = 0; i < rank; i++) {
            p[i] = i;
        }
        p[a] = b;
        p[b] = a;
        return p;
    }

    @Override
    protected INDArray forward(INDArray... in) {
        int rank = in[0].rank();
        if (perm.length != rank) {
            throw new IllegalArgumentException(name() + ": permutation " + Arrays.toString(perm)
                    + " has " + perm.length + " entries for an array of rank " + rank);
        }
        int[] p = new int[rank];
        inverse = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            p[i] = Shapes.axis(name(), rank, perm[i]);
            if (seen[p[i]]) {
                throw new IllegalArgumentException(name() + ": " + Arrays.toString(perm) + " is not a permutation");
            }
            seen[p[i]] = true;
            inverse[p[i]] = i;
        }
        return in[0].permute(p).dup('c');
    }

    @Override
    protected INDArray[] backward(INDArray g) {
        return new INDArray[] {g.permute(inverse).dup('c')};
    }
}
