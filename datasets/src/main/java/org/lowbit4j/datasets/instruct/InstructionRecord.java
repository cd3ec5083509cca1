package org.lowbit4j.datasets.instruct;

import java.util.Objects;

/**
 * One Alpaca-style example.
 *
 * @param instruction the task (required)
 * @param input optional context; {@code ""} when absent (null is normalized to {@code ""})
 * @param output the desired response (required)
 */
public record InstructionRecord(String instruction, String input, String output) {
    /** @throws NullPointerException if instruction or output is null */
    public InstructionRecord {
        Objects.requireNonNull(instruction, "instruction");
        Objects.requireNonNull(output, "output");
        input = input == null ? "" : input;
    }

    /** @return whether the record has a non-empty input (selects the Alpaca template variant) */
    public boolean hasInput() {
        return !input.isEmpty();
    }
}
