package org.lowbit4j.datasets.instruct;

/**
 * The Stanford Alpaca prompt template. With a non-empty input:
 *
 * <pre>
 * Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.
 *
 * ### Instruction:
 * {instruction}
 *
 * ### Input:
 * {input}
 *
 * ### Response:
 * </pre>
 *
 * and without one:
 *
 * <pre>
 * Below is an instruction that describes a task. Write a response that appropriately completes the request.
 *
 * ### Instruction:
 * {instruction}
 *
 * ### Response:
 * </pre>
 *
 * Both end with a newline after {@code ### Response:}; the response text follows directly.
 */
public final class AlpacaTemplate {
    /** Header of the variant with an input. */
    public static final String HEADER_WITH_INPUT = "Below is an instruction that describes a task, paired with an input "
            + "that provides further context. Write a response that appropriately completes the request.\n\n";
    /** Header of the variant without an input. */
    public static final String HEADER_NO_INPUT =
            "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n";

    private AlpacaTemplate() {
    }

    /**
     * @param record the example
     * @return the prompt text (everything before the response)
     */
    public static String prompt(InstructionRecord record) {
        return prompt(record.instruction(), record.input());
    }

    /**
     * @param instruction the task
     * @param input context, or {@code ""} for none
     * @return the prompt text, ending in {@code "### Response:\n"}
     */
    public static String prompt(String instruction, String input) {
        if (input == null || input.isEmpty()) {
            return HEADER_NO_INPUT + "### Instruction:\n" + instruction + "\n\n### Response:\n";
        }
        return HEADER_WITH_INPUT + "### Instruction:\n" + instruction + "\n\n### Input:\n" + input + "\n\n### Response:\n";
    }
}
