package org.lowbit4j.nn;

import java.util.ArrayList;
import java.util.List;

/**
 * An indexed container: children are named {@code "0"}, {@code "1"}, ... in order, giving
 * parameter names such as {@code layers.3.attention.wq.weight}.
 */
public final class ModuleList extends Module {
    private int size;

    /**
     * Appends a module under the next index.
     *
     * @return the module
     */
    public <M extends Module> M add(M module) {
        return addChild(Integer.toString(size++), module);
    }

    /**
     * @param i index in [0, size)
     * @return the current module at i (after any replacement)
     * @throws IndexOutOfBoundsException with the valid range
     */
    public Module get(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("ModuleList '" + path() + "': index " + i + " not in [0, " + size + ")");
        }
        return child(Integer.toString(i));
    }

    /** @return the number of modules */
    public int size() {
        return size;
    }

    /** @return the current modules in index order */
    public List<Module> asList() {
        return new ArrayList<>(children().values());
    }
}
