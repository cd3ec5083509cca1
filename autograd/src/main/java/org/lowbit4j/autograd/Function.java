package org.lowbit4j.autograd;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One differentiable operation: a forward that saves what its backward needs, and a hand-written
 * backward. Each primitive of the engine is one subclass; users write their own (for example
 * straight-through quantizers) the same way, outside the engine.
 *
 * <p>An instance is applied once: {@link #apply(Tensor...)} runs {@link #forward(INDArray...)} and, if
 * gradients are being recorded, remembers the inputs so that {@link Tensor#backward()} can call
 * {@link #backward(INDArray)} later. Operation parameters (axes, eps, ...) go to the constructor.
 *
 * <p>Contract for subclasses:
 * <ul>
 *   <li>{@code forward} must not modify its inputs and must return a new array (not a view that
 *       aliases an input, since the caller may later modify either).</li>
 *   <li>{@code backward} returns one gradient per input, each of exactly that input's shape and data
 *       type, or {@code null} for an input that needs none ({@link #needsGrad(int)} is false). The
 *       returned arrays may alias {@code gradOutput} or each other: the engine copies before it
 *       accumulates in place. An array obtained from {@link #gradBuffer(int)} is the exception: it is
 *       returned as that one gradient only, and the engine then owns it.</li>
 *   <li>{@code backward} must not keep {@code gradOutput} (or a view of it) after it returns, other
 *       than inside a returned gradient: the engine may reuse its memory.</li>
 *   <li>{@link #release()} drops saved arrays once backward has run.</li>
 * </ul>
 */
public abstract class Function {
    private Tensor[] inputs;
    private boolean applied;
    /** Arrays handed out by {@link #gradBuffer} during the running backward, by input; null if none. */
    private INDArray[] lent;
    /** Which gradients of the last backward are {@link #gradBuffer} arrays (engine-owned). */
    private boolean[] returnedBuffers;

    /**
     * Computes the output value and saves what backward needs in fields.
     *
     * @param inputs input values, in the order given to {@link #apply(Tensor...)}
     * @return a new array holding the output
     */
    protected abstract INDArray forward(INDArray... inputs);

    /**
     * Propagates the gradient of the loss with respect to the output back to the inputs.
     *
     * @param gradOutput dL/dOutput, same shape as the forward output
     * @return dL/dInput_i for each input i (null allowed where {@link #needsGrad(int)} is false)
     */
    protected abstract INDArray[] backward(INDArray gradOutput);

    /** Drops arrays saved for backward; called by the engine once backward has run. */
    protected void release() {
    }

    /** A short name for error messages; the class name by default. */
    public String name() {
        return getClass().getSimpleName();
    }

    /**
     * @param i input index
     * @return whether the engine wants a gradient for input i (valid in forward and backward)
     */
    protected final boolean needsGrad(int i) {
        return inputs != null && inputs[i].requiresGrad();
    }

    /**
     * Memory for the gradient of input i, for {@code backward} to fill and return as gradient i: an
     * uninitialised dense C-ordered array of that input's shape and data type, which the engine owns
     * once backward returns it (it adds into it in place and recycles it). A training step thereby
     * reuses memory instead of allocating, and page-faulting, fresh arrays (see {@code ScratchPool}):
     * a parameter without a gradient yet lends its own gradient storage, anything else gets a pooled
     * array. Calling it again for the same i in one backward returns the same array.
     *
     * <p>Contract: backward writes every element, returns the array as gradient i and nowhere else
     * (not as another gradient, not a view of it), and keeps no reference to it.
     *
     * @param i input index; {@link #needsGrad(int)} should be true for it
     * @return an uninitialised array shaped like input i's value
     * @throws IllegalStateException when called outside a backward run by the engine
     */
    protected final INDArray gradBuffer(int i) {
        if (lent == null || inputs == null) {
            throw new IllegalStateException(name() + ": gradBuffer is only for backward");
        }
        if (lent[i] == null) {
            lent[i] = inputs[i].lendGradBuffer();
        }
        return lent[i];
    }

    /**
     * Runs the operation on tensors.
     *
     * @param in the inputs
     * @return the output; it records this function on the tape when gradients are enabled and
     *     some input requires a gradient
     * @throws IllegalStateException if this instance was applied before
     * @throws IllegalArgumentException if inputs differ in floating-point data type
     */
    public final Tensor apply(Tensor... in) {
        if (applied) {
            throw new IllegalStateException(name() + ": a Function instance is applied only once");
        }
        applied = true;
        INDArray[] values = new INDArray[in.length];
        boolean track = false;
        for (int i = 0; i < in.length; i++) {
            values[i] = in[i].value();
            track |= in[i].requiresGrad();
            if (i > 0 && values[i].dataType() != values[0].dataType()) {
                throw new IllegalArgumentException(name() + ": input " + i + " has data type "
                        + values[i].dataType() + ", expected " + values[0].dataType() + " like input 0");
            }
        }
        track &= GradMode.isEnabled();
        if (track) {
            inputs = in.clone();
        }
        INDArray out = forward(values);
        if (!track) {
            return Tensor.constant(out);
        }
        return new Tensor(out, this, inputs);
    }

    /** Called by the engine: runs backward and checks what it returned. */
    final INDArray[] runBackward(INDArray gradOutput) {
        lent = new INDArray[inputs.length];
        INDArray[] grads;
        try {
            grads = backward(gradOutput);
            returnedBuffers = returnedBuffers(grads);
        } finally {
            for (int i = 0; i < inputs.length; i++) {
                if (lent[i] != null) {
                    inputs[i].endGradBufferLoan();
                }
            }
            lent = null;
        }
        if (grads == null || grads.length != inputs.length) {
            throw new IllegalStateException(name() + ".backward returned "
                    + (grads == null ? "null" : grads.length + " gradients") + ", expected " + inputs.length);
        }
        for (int i = 0; i < grads.length; i++) {
            if (grads[i] != null && inputs[i].requiresGrad()
                    && !Arrays.equals(grads[i].shape(), inputs[i].value().shape())) {
                throw new IllegalStateException(name() + ".backward: gradient " + i + " has shape "
                        + Arrays.toString(grads[i].shape()) + ", expected "
                        + Arrays.toString(inputs[i].value().shape()));
            }
        }
        return grads;
    }

    /**
     * @return for each gradient: whether it is the {@link #gradBuffer} array of its input
     * @throws IllegalStateException if such an array was also returned as another gradient
     */
    private boolean[] returnedBuffers(INDArray[] grads) {
        boolean[] own = new boolean[inputs.length];
        if (grads == null || grads.length != inputs.length) {
            return own;
        }
        for (int i = 0; i < grads.length; i++) {
            if (lent[i] == null || grads[i] != lent[i]) {
                continue;
            }
            own[i] = true;
            for (int j = 0; j < grads.length; j++) {
                if (j != i && grads[j] == grads[i]) {
                    throw new IllegalStateException(name() + ".backward returned gradBuffer(" + i
                            + ") also as gradient " + j);
                }
            }
        }
        return own;
    }

    /** Called by the engine after {@link #runBackward}: which gradients it owns (from {@link #gradBuffer}). */
    final boolean[] returnedGradBuffers() {
        return returnedBuffers;
    }

    final void releaseAll() {
        release();
        inputs = null;
        returnedBuffers = null;
    }
}
