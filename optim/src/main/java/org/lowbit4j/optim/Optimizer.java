package org.lowbit4j.optim;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.lowbit4j.autograd.Tensor;

/**
 * Updates a fixed list of parameters in place from their accumulated gradients.
 *
 * <p>Parameters are identified in state files by {@link Tensor#name()} when set, else by their index
 * ({@code "#3"}).
 */
public interface Optimizer {
    /** Applies one update to every parameter with a gradient; parameters whose gradient is null are skipped. */
    void step();

    /** Drops every parameter's gradient. */
    void zeroGrad();

    /** @return the current learning rate */
    double lr();

    /**
     * @param lr the learning rate of the next steps (finite, >= 0), e.g. from an {@link LrSchedule}
     * @throws IllegalArgumentException for a negative or non-finite value
     */
    void setLr(double lr);

    /** @return how many times {@link #step()} has run (restored by {@link #load}) */
    long steps();

    /** @return the parameters, in order (an unmodifiable list) */
    List<Tensor> parameters();

    /** @return bytes the optimizer state occupies (moments, quantization scales, step counters) */
    long stateBytes();

    /**
     * Writes the complete state (step counts, learning rate, moments) atomically: to a temporary file in the
     * same directory, then moved over {@code file}.
     *
     * @throws IOException on a write failure (the previous file, if any, is left intact)
     */
    void save(Path file) throws IOException;

    /**
     * Restores a state written by {@link #save} for the same parameters; the following steps are bitwise
     * identical to those of the optimizer that saved it. Nothing changes unless the whole file is valid.
     *
     * @throws StateFileException if the file is not such a state, is corrupt, or does not match this
     *     optimizer's kind, hyperparameters or parameters (names, count, shapes)
     * @throws IOException on a read failure
     */
    void load(Path file) throws IOException;
}
