package org.lowbit4j.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A value on the autograd tape: an ND4J array, an optional gradient, and (for results of
 * operations) the {@link Function} that made it.
 *
 * <p>Leaves are either parameters ({@link #parameter(INDArray)}, which accumulate gradients) or
 * constants ({@link #constant(INDArray)}). {@link #backward()} walks the tape once in a
 * deterministic reverse topological order (depth-first over inputs in argument order; no hash
 * order anywhere), so sums of gradients are reproducible bit for bit.
 *
 * <p>Gradients of parameters accumulate across calls to {@code backward} until
 * {@link #zeroGrad()}; gradients of intermediate tensors are dropped once used, and so are the
 * arrays each function saved, so a tape can be walked back only once.
 */
public final class Tensor {
    private final INDArray value;
    private final boolean requiresGrad;
    private final Function creator;
    /** Inputs of {@link #creator}; nulled once backward has passed through, freeing the tape. */
    private Tensor[] parents;
    private INDArray grad;
    /** False while {@link #grad} may alias an array that someone else also holds. */
    private boolean gradOwned;
    private String name;

    Tensor(INDArray value, Function creator, Tensor[] parents) {
        this.value = value;
        this.requiresGrad = true;
        this.creator = creator;
        this.parents = parents;
    }

    private Tensor(INDArray value, boolean requiresGrad) {
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.creator = null;
        this.parents = null;
    }

    /**
     * @param value the parameter's storage (not copied: optimizers update it in place)
     * @return a leaf that accumulates gradients
     */
    public static Tensor parameter(INDArray value) {
        requireFloating(value);
        return new Tensor(value, true);
    }

    /**
     * @param value the value (not copied)
     * @return a leaf that never gets a gradient
     */
    public static Tensor constant(INDArray value) {
        return new Tensor(value, false);
    }

    private static void requireFloating(INDArray value) {
        if (!value.dataType().isFPType()) {
            throw new IllegalArgumentException("a parameter must be floating point, got " + value.dataType());
        }
    }

    /** @return the value (not a copy) */
    public INDArray value() {
        return value;
    }

    /** @return the accumulated gradient, same shape as the value, or null if none yet */
    public INDArray grad() {
        return grad;
    }

    /** @return the shape (a copy) */
    public long[] shape() {
        return value.shape();
    }

    /** @return the size of dimension {@code d} (negative counts from the end) */
    public long size(int d) {
        return value.size(d < 0 ? d + value.rank() : d);
    }

    /** @return the number of dimensions */
    public int rank() {
        return value.rank();
    }

    /** @return the element type */
    public DataType dataType() {
        return value.dataType();
    }

    /** @return whether a gradient flows to this tensor */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** @return true for parameters and constants, false for results of operations */
    public boolean isLeaf() {
        return creator == null;
    }

    /** @return the function that produced this tensor, or null for a leaf */
    public Function creator() {
        return creator;
    }

    /** @return an optional name (parameters get their hierarchical module name) */
    public String name() {
        return name;
    }

    /**
     * @param name a name for messages and checkpoints
     * @return this
     */
    public Tensor named(String name) {
        this.name = name;
        return this;
    }

    /** @return a constant sharing this tensor's value, cut from the tape */
    public Tensor detach() {
        return constant(value);
    }

    /** Drops the accumulated gradient (the next backward starts from zero). */
    public void zeroGrad() {
        grad = null;
        gradOwned = false;
    }

    /**
     * Replaces the gradient, e.g. after unscaling or clipping.
     *
     * @param g the new gradient, same shape as the value; held, not copied
     * @throws IllegalArgumentException on a shape mismatch
     */
    public void setGrad(INDArray g) {
        if (g != null && !java.util.Arrays.equals(g.shape(), value.shape())) {
            throw new IllegalArgumentException("gradient shape " + java.util.Arrays.toString(g.shape())
                    + " does not match value shape " + java.util.Arrays.toString(value.shape()));
        }
        grad = g;
        gradOwned = true;
    }

    /**
     * Back-propagates from this scalar (a tensor of one element) with seed 1.
     *
     * @throws IllegalStateException if this tensor has more than one element or needs no gradient
     */
    public void backward() {
        if (value.length() != 1) {
            throw new IllegalStateException("backward() without a seed needs a scalar, got shape "
                    + java.util.Arrays.toString(value.shape()));
        }
        backward(Nd4j.ones(value.dataType(), value.shape()));
    }

    /**
     * Back-propagates the given gradient of some loss with respect to this tensor.
     *
     * @param seed dL/dthis, same shape as this tensor
     * @throws IllegalStateException if this tensor needs no gradient, or the tape was already walked
     */
    public void backward(INDArray seed) {
        if (!requiresGrad) {
            throw new IllegalStateException("backward(): this tensor does not require a gradient "
                    + "(no parameter feeds it, or it was computed under GradMode.noGrad())");
        }
        List<Tensor> order = topologicalOrder();
        accumulate(seed);
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor t = order.get(i);
            if (t.creator == null) {
                continue;
            }
            if (t.parents == null) {
                throw new IllegalStateException("backward(): the tape through " + t.creator.name()
                        + " was already walked once");
            }
            INDArray g = t.grad;
            t.grad = null;
            t.gradOwned = false;
            if (g != null) {
                INDArray[] grads = t.creator.runBackward(g);
                for (int j = 0; j < grads.length; j++) {
                    if (grads[j] != null && t.parents[j].requiresGrad) {
                        t.parents[j].accumulate(grads[j]);
                    }
                }
            }
            t.creator.releaseAll();
            t.parents = null;
        }
        // Parameters keep their gradient: make sure it is not shared with anything else.
        for (Tensor t : order) {
            if (t.creator == null && t.grad != null && !t.gradOwned) {
                t.grad = t.grad.dup();
                t.gradOwned = true;
            }
        }
    }

    private void accumulate(INDArray g) {
        if (grad == null) {
            grad = g;
            gradOwned = false;
        } else if (gradOwned) {
            grad.addi(g);
        } else {
            grad = grad.add(g);
            gradOwned = true;
        }
    }

    /** Tensors reachable from this one that require gradients, inputs before their consumers. */
    private List<Tensor> topologicalOrder() {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Tensor> stack = new ArrayDeque<>();
        ArrayDeque<Integer> nextChild = new ArrayDeque<>();
        stack.push(this);
        nextChild.push(0);
        visited.add(this);
        while (!stack.isEmpty()) {
            Tensor t = stack.peek();
            int k = nextChild.pop();
            if (t.parents != null && k < t.parents.length) {
                nextChild.push(k + 1);
                Tensor p = t.parents[k];
                if (p.requiresGrad && visited.add(p)) {
                    stack.push(p);
                    nextChild.push(0);
                }
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }

    @Override
    public String toString() {
        return "Tensor" + (name != null ? "(" + name + ")" : "") + java.util.Arrays.toString(value.shape())
                + " " + value.dataType() + (creator != null ? " <- " + creator.name() : requiresGrad ? " param" : "");
    }
}
