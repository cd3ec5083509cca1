package org.lowbit4j.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.lowbit4j.autograd.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A node of a model: ordered named parameters and ordered named children.
 *
 * <p>Parameters are named with their full dotted path from the root (for example
 * {@code layers.3.attention.wq.weight}); the path is fixed up whenever a module is attached with
 * {@link #addChild} or {@link #replaceChild}, so a module built on its own and attached later gets
 * the right names. Iteration order is registration order everywhere (no hash order), so optimizer
 * state and checkpoints line up between runs.
 *
 * <p>Modules that call a child in their forward pass must look it up by name at call time (see
 * {@link #layer(String)}), so that {@link #replaceChild} (for example a LoRA injector wrapping a
 * {@link Linear}) takes effect without the parent knowing.
 */
public abstract class Module {
    private final LinkedHashMap<String, Tensor> parameters = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    /** Dotted path of this module from the root; empty for a root. */
    private String path = "";
    private boolean training = true;

    /**
     * Registers a parameter (or a frozen constant) under a local name.
     *
     * @param name local name without dots, unique among this module's parameters and children
     * @param tensor the parameter; it is renamed to its full path
     * @return the tensor
     * @throws IllegalArgumentException for a bad or duplicate name
     */
    protected final Tensor registerParameter(String name, Tensor tensor) {
        checkNewName(name);
        parameters.put(name, tensor);
        tensor.named(qualify(name));
        return tensor;
    }

    /**
     * Creates and registers a trainable parameter holding {@code value} (not copied).
     *
     * @return the new parameter
     */
    protected final Tensor registerParameter(String name, INDArray value) {
        return registerParameter(name, Tensor.parameter(value));
    }

    /**
     * Swaps the tensor behind an existing parameter, for example to freeze a weight by replacing it
     * with {@link Tensor#constant} of the same value.
     *
     * @param name local name of an existing parameter
     * @param tensor the replacement, same shape as the old one
     * @return the old tensor
     * @throws IllegalArgumentException if there is no such parameter or the shape differs
     */
    public final Tensor replaceParameter(String name, Tensor tensor) {
        Tensor old = parameters.get(name);
        if (old == null) {
            throw new IllegalArgumentException(describe() + ": no parameter named '" + name + "', have "
                    + parameters.keySet());
        }
        if (!java.util.Arrays.equals(old.shape(), tensor.shape())) {
            throw new IllegalArgumentException(describe() + ": parameter '" + name + "' has shape "
                    + java.util.Arrays.toString(old.shape()) + ", replacement has "
                    + java.util.Arrays.toString(tensor.shape()));
        }
        parameters.put(name, tensor);
        tensor.named(qualify(name));
        onParameterReplaced(name, tensor);
        return old;
    }

    /** Hook for subclasses that cache a parameter in a field. */
    protected void onParameterReplaced(String name, Tensor tensor) {
    }

    /**
     * Attaches a child module under a local name.
     *
     * @param name local name without dots (digits are fine: {@code layers.0})
     * @param child a module that has no parent yet
     * @return the child
     * @throws IllegalArgumentException for a bad or duplicate name
     */
    protected final <M extends Module> M addChild(String name, M child) {
        checkNewName(name);
        children.put(name, child);
        ((Module) child).setPath(qualify(name));
        return child;
    }

    /**
     * Replaces the child called {@code name}, keeping its position in the order. A child that is
     * a {@link Layer} may only be replaced by another {@link Layer} (callers invoke it as one).
     *
     * @param name local name of an existing child
     * @param replacement the new child; its parameters are renamed to the old child's path
     * @return the old child
     * @throws IllegalArgumentException if there is no such child or the replacement is not a Layer
     *     where a Layer is expected
     */
    public final Module replaceChild(String name, Module replacement) {
        Module old = children.get(name);
        if (old == null) {
            throw new IllegalArgumentException(describe() + ": no child named '" + name + "', have "
                    + children.keySet());
        }
        if (old instanceof Layer && !(replacement instanceof Layer)) {
            throw new IllegalArgumentException(describe() + ": child '" + name + "' is a Layer ("
                    + old.getClass().getSimpleName() + "), replacement " + replacement.getClass().getSimpleName()
                    + " is not");
        }
        children.put(name, replacement);
        replacement.setPath(qualify(name));
        replacement.training = training;
        onChildReplaced(name, replacement);
        return old;
    }

    /** Hook for subclasses that cache a child in a field. */
    protected void onChildReplaced(String name, Module replacement) {
    }

    /**
     * @param name local name of a child
     * @return the child
     * @throws IllegalArgumentException if there is none
     */
    public final Module child(String name) {
        Module m = children.get(name);
        if (m == null) {
            throw new IllegalArgumentException(describe() + ": no child named '" + name + "', have "
                    + children.keySet());
        }
        return m;
    }

    /**
     * Looks up a child that is a {@link Layer}; forward passes call this each time so that
     * replaced children take effect.
     *
     * @throws IllegalArgumentException if there is no such child or it is not a Layer
     */
    protected final Layer layer(String name) {
        if (child(name) instanceof Layer l) {
            return l;
        }
        throw new IllegalArgumentException(describe() + ": child '" + name + "' is a "
                + child(name).getClass().getSimpleName() + ", not a Layer");
    }

    /** @return the direct children in registration order (unmodifiable view) */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** @return this module's own parameters by local name, in registration order (unmodifiable) */
    public final Map<String, Tensor> localParameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /**
     * @param name local name of one of this module's own parameters
     * @throws IllegalArgumentException if there is none
     */
    public final Tensor parameter(String name) {
        Tensor t = parameters.get(name);
        if (t == null) {
            throw new IllegalArgumentException(describe() + ": no parameter named '" + name + "', have "
                    + parameters.keySet());
        }
        return t;
    }

    /**
     * All tensors of the tree by full dotted name (relative to this module), own parameters first,
     * then each child depth-first in registration order. A tensor shared by two modules (tied
     * weights) appears once, under its first name. Frozen constants are included.
     *
     * @return a new insertion-ordered map
     */
    public final LinkedHashMap<String, Tensor> namedParameters() {
        var out = new LinkedHashMap<String, Tensor>();
        collect("", out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    private void collect(String prefix, LinkedHashMap<String, Tensor> out, Set<Tensor> seen) {
        for (var e : parameters.entrySet()) {
            if (seen.add(e.getValue())) {
                out.put(prefix + e.getKey(), e.getValue());
            }
        }
        for (var e : children.entrySet()) {
            e.getValue().collect(prefix + e.getKey() + ".", out, seen);
        }
    }

    /** @return the tensors of {@link #namedParameters()} in the same order */
    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** @return only the tensors that receive gradients, in {@link #namedParameters()} order */
    public final List<Tensor> trainableParameters() {
        return namedParameters().values().stream().filter(Tensor::requiresGrad).toList();
    }

    /** @return the total number of scalar elements over {@link #namedParameters()} */
    public final long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) {
            n += t.value().length();
        }
        return n;
    }

    /** Drops the accumulated gradient of every parameter in the tree. */
    public final void zeroGrad() {
        for (Tensor t : namedParameters().values()) {
            t.zeroGrad();
        }
    }

    /**
     * Sets the training flag on this module and every descendant.
     *
     * @return this
     */
    public final Module train(boolean on) {
        training = on;
        for (Module c : children.values()) {
            c.train(on);
        }
        return this;
    }

    /** Same as {@code train(false)}. */
    public final Module eval() {
        return train(false);
    }

    /** @return whether the module is in training mode (the default) */
    public final boolean isTraining() {
        return training;
    }

    /** @return the dotted path of this module from the root it is attached to ("" for a root) */
    public final String path() {
        return path;
    }

    private void setPath(String newPath) {
        path = newPath;
        for (var e : parameters.entrySet()) {
            e.getValue().named(qualify(e.getKey()));
        }
        for (var e : children.entrySet()) {
            e.getValue().setPath(qualify(e.getKey()));
        }
    }

    private String qualify(String local) {
        return path.isEmpty() ? local : path + "." + local;
    }

    private void checkNewName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException(describe() + ": a local name must be non-empty and without dots, got '"
                    + name + "'");
        }
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(describe() + ": name '" + name + "' is already taken");
        }
    }

    private String describe() {
        return getClass().getSimpleName() + (path.isEmpty() ? "" : " '" + path + "'");
    }

    @Override
    public String toString() {
        var sb = new StringBuilder();
        format(sb, "", getClass().getSimpleName());
        return sb.toString();
    }

    private void format(StringBuilder sb, String indent, String label) {
        sb.append(indent).append(label).append('\n');
        for (var e : parameters.entrySet()) {
            sb.append(indent).append("  ").append(e.getKey()).append(' ')
                    .append(java.util.Arrays.toString(e.getValue().shape())).append(' ')
                    .append(e.getValue().dataType()).append(e.getValue().requiresGrad() ? "" : " frozen").append('\n');
        }
        for (var e : children.entrySet()) {
            e.getValue().format(sb, indent + "  ", e.getKey() + ": " + e.getValue().getClass().getSimpleName());
        }
    }
}
