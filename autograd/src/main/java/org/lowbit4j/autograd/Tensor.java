package org.lowbit4j.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.lowbit4j.autograd.blas.NativeArrays;
import org.lowbit4j.autograd.ops.Elementwise;
import org.lowbit4j.autograd.ops.ScratchPool;
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
 *
 * <p>Memory: a parameter keeps its gradient's memory across {@link #zeroGrad()} and the next
 * backward writes into it; intermediate gradients the engine made go back to the
 * {@link ScratchPool} once used. A training step thus reuses the same memory every step instead of
 * allocating (and page-faulting) it afresh; the values and their bits are the same either way.
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
    /**
     * True while {@link #grad} is an array the engine allocated and nobody else holds (not one a
     * user gave to {@link #setGrad}): an intermediate's goes back to the {@link ScratchPool} once
     * used, a parameter's becomes its {@link #gradStorage}.
     */
    private boolean gradRecyclable;
    /**
     * A parameter's gradient memory, kept across {@link #zeroGrad()} so that the next backward
     * writes into memory that is already mapped instead of allocating (see {@link ScratchPool}'s
     * NOTE on page faults). Meaningful only while {@link #grad} is null or is this array.
     */
    private INDArray gradStorage;
    /** True while {@link #gradStorage} is lent to a backward through {@link Function#gradBuffer}. */
    private boolean storageLent;
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

    /**
     * Drops the accumulated gradient: {@link #grad()} returns null, and the next backward starts from
     * zero.
     *
     * <p>NOTE: a parameter keeps its gradient's memory for the next backward, which overwrites every
     * element with the new gradient (nothing of the old one survives; a parameter that gets no
     * gradient keeps {@code grad() == null}). So an array obtained from {@link #grad()} before this
     * call changes with the next backward: {@code dup()} it to keep it. This saves allocating (and
     * page-faulting) the gradients' memory afresh every step.
     */
    public void zeroGrad() {
        grad = null;
        gradOwned = false;
        gradRecyclable = false;
    }

    /**
     * Replaces the gradient, e.g. after unscaling or clipping.
     *
     * @param g the new gradient, same shape as the value; held, not copied (later backward calls
     *     add into it in place until {@link #zeroGrad()}; the engine never reuses it after that)
     * @throws IllegalArgumentException on a shape mismatch
     */
    public void setGrad(INDArray g) {
        if (g != null && !java.util.Arrays.equals(g.shape(), value.shape())) {
            throw new IllegalArgumentException("gradient shape " + java.util.Arrays.toString(g.shape())
                    + " does not match value shape " + java.util.Arrays.toString(value.shape()));
        }
        grad = g;
        gradOwned = true;
        gradRecyclable = false;
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
     * <p>Memory: gradients of intermediate tensors that the engine allocated (sums of several
     * contributions, {@link Function#gradBuffer} arrays) go back to the calling thread's
     * {@link ScratchPool} once their creator's backward has used them; parameters write into the
     * gradient memory they kept from the previous step (see {@link #zeroGrad()}).
     *
     * @param seed dL/dthis, same shape as this tensor (not modified, not held after this call)
     * @throws IllegalStateException if this tensor needs no gradient, or the tape was already walked
     */
    public void backward(INDArray seed) {
        if (!requiresGrad) {
            throw new IllegalStateException("backward(): this tensor does not require a gradient "
                    + "(no parameter feeds it, or it was computed under GradMode.noGrad())");
        }
        List<Tensor> order = topologicalOrder();
        accumulate(seed, false);
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
            boolean recycle = t.gradRecyclable;
            t.grad = null;
            t.gradOwned = false;
            t.gradRecyclable = false;
            if (g != null) {
                INDArray[] grads = t.creator.runBackward(g);
                boolean[] engineOwned = t.creator.returnedGradBuffers();
                int heir = recycle ? heirOf(g, grads) : NO_HEIR;
                if (heir >= 0) {
                    // g itself, or all of g reshaped (Reshape, identities), passed on: still no one else's
                    engineOwned[heir] = true;
                }
                for (int j = 0; j < grads.length; j++) {
                    if (grads[j] != null && t.parents[j].requiresGrad) {
                        t.parents[j].accumulate(grads[j], engineOwned[j]);
                    }
                }
                // g is used up; unless a parent now holds (a view of) it, its memory serves the next array
                if (heir == NO_OVERLAP) {
                    ScratchPool.give(g);
                }
            }
            t.creator.releaseAll();
            t.parents = null;
        }
        // Parameters keep their gradient: make sure it is not shared with anything else.
        for (Tensor t : order) {
            if (t.creator == null) {
                t.keepGradient();
            }
        }
    }

    /**
     * Adds one contribution to this tensor's gradient (a sum in arrival order, so reproducible).
     *
     * @param g the contribution
     * @param engineOwned true if g is an array nobody else holds (from {@link Function#gradBuffer}),
     *     which may then be updated in place and recycled
     */
    private void accumulate(INDArray g, boolean engineOwned) {
        if (grad == null) {
            grad = g;
            gradOwned = engineOwned;
            gradRecyclable = engineOwned;
        } else if (gradOwned) {
            Elementwise.add(grad, g, grad);
            if (engineOwned) {
                recycle(g);
            }
        } else if (engineOwned && (creator != null || !fitsStorage(g))) {
            // NOTE: g + grad instead of grad + g: IEEE addition commutes, so the bits are the same.
            grad = Elementwise.add(g, grad, g);
            gradOwned = true;
            gradRecyclable = true;
        } else if (g.isEmpty()) {
            grad = grad.add(g);
            gradOwned = true;
            gradRecyclable = false;
        } else {
            INDArray sum = creator == null && fitsStorage(g) ? gradStorage
                    : ScratchPool.take(g.dataType(), g.shape());
            Elementwise.add(grad, g, sum);
            if (engineOwned) {
                recycle(g);
            }
            grad = sum;
            gradOwned = true;
            gradRecyclable = true;
        }
    }

    /** Returns an engine-owned array to the pool, unless it is this parameter's own storage. */
    private void recycle(INDArray a) {
        if (a != gradStorage) {
            ScratchPool.give(a);
        }
    }

    /** End of backward, for a leaf: its gradient becomes (or is copied into) its own storage. */
    private void keepGradient() {
        if (grad == null || grad == gradStorage) {
            gradOwned |= grad != null;
            return;
        }
        if (!gradOwned) {
            // the gradient may alias an op's array or the seed: copy it into memory of our own
            if (!fitsStorage(grad)) {
                gradStorage = grad.isEmpty() ? grad.dup() : ScratchPool.take(grad.dataType(), grad.shape());
            }
            grad = Elementwise.copy(grad, gradStorage);
            gradOwned = true;
            gradRecyclable = true;
        } else if (gradRecyclable) {
            gradStorage = grad; // engine-made and nobody else's: keep it for the next step
        }
    }

    private boolean fitsStorage(INDArray g) {
        return gradStorage != null && !storageLent && gradStorage.dataType() == g.dataType()
                && java.util.Arrays.equals(gradStorage.shape(), g.shape());
    }

    /**
     * For {@link Function#gradBuffer}: memory for this tensor's next gradient contribution, nobody
     * else's: the parameter's kept storage while it has no gradient yet, else a pooled array.
     */
    INDArray lendGradBuffer() {
        if (creator == null && grad == null && gradStorage != null && !storageLent
                && gradStorage.dataType() == value.dataType()
                && java.util.Arrays.equals(gradStorage.shape(), value.shape())) {
            storageLent = true;
            return gradStorage;
        }
        return ScratchPool.take(value.dataType(), value.shape());
    }

    /** Ends a loan of {@link #lendGradBuffer}, once the borrowing backward has returned. */
    void endGradBufferLoan() {
        storageLent = false;
    }

    /** {@link #heirOf}: no gradient shares g's memory. */
    private static final int NO_OVERLAP = -1;
    /** {@link #heirOf}: some gradients share g's memory, or it cannot be told. */
    private static final int NO_HEIR = -2;

    /**
     * Which returned gradient carries on the engine-owned gradOutput g: the one gradient that is g
     * or a view of all of g (a reshape), when no other gradient shares g's memory.
     *
     * @return that gradient's index, {@link #NO_OVERLAP} if none shares g's memory, else {@link #NO_HEIR}
     */
    private static int heirOf(INDArray g, INDArray[] grads) {
        if (g.isEmpty()) {
            return NO_HEIR;
        }
        long g0;
        long g1;
        try {
            var sg = NativeArrays.segment(g);
            g0 = sg.address();
            g1 = g0 + sg.byteSize();
        } catch (RuntimeException e) {
            return NO_HEIR;
        }
        int heir = NO_OVERLAP;
        for (int j = 0; j < grads.length; j++) {
            INDArray b = grads[j];
            if (b == null || b.isEmpty()) {
                continue;
            }
            boolean overlaps;
            try {
                var sb = NativeArrays.segment(b);
                overlaps = sb.address() < g1 && g0 < sb.address() + sb.byteSize();
            } catch (RuntimeException e) {
                return NO_HEIR;
            }
            if (overlaps) {
                if (heir != NO_OVERLAP || !(b == g || sameDenseMemory(b, g))) {
                    return NO_HEIR;
                }
                heir = j;
            }
        }
        return heir;
    }

    /** @return whether b is a dense C-ordered view of exactly g's elements (g dense C-ordered too) */
    private static boolean sameDenseMemory(INDArray b, INDArray g) {
        return b.length() == g.length() && denseC(b) && denseC(g)
                && NativeArrays.address(b) == NativeArrays.address(g);
    }

    private static boolean denseC(INDArray a) {
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expect = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expect) {
                return false;
            }
            expect *= shape[i];
        }
        return true;
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
