/**
 * A procedural, download-free task for the demo: a base task (copy and add lines) to pre-train
 * on and a second task (reversal) to fine-tune on, both character level, with an exact-match
 * metric.
 *
 * <p>Lines look like {@code copy: abcde = abcde}, {@code add: 12+34 = 46} and
 * {@code rev: abcde = edcba}; the prompt is everything up to and including {@code "= "}, the
 * answer is the rest. A model trained only on copy/add tends to answer a {@code rev:} prompt
 * with a copy, so exact match on reversal starts near 0 and measures what fine-tuning adds.
 *
 * <p>{@link org.lowbit4j.datasets.synthetic.SyntheticVocabulary} writes a real llama2.c
 * tokenizer file for the task (300 tokens: the 3 specials, the 256 byte-fallback tokens, then
 * one token per character), so the standard {@link org.lowbit4j.datasets.Tokenizer} and the
 * generate command work on models trained with it. Recommended use: encode every example with
 * {@link org.lowbit4j.datasets.synthetic.SyntheticExample#encode} (BOS + dummy-prefix prompt, the
 * same tokens a run.c-style {@code generate} produces for that prompt, then the answer, a newline
 * and EOS) and batch with {@link org.lowbit4j.datasets.instruct.InstructionDataset}.
 */
package org.lowbit4j.datasets.synthetic;
