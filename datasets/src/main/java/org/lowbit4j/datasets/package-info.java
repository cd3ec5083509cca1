/**
 * Tokenization and training data for lowbit4j.
 *
 * <ul>
 *   <li>{@link org.lowbit4j.datasets.Tokenizer}: the llama2.c tokenizer file format, encoded and
 *       decoded exactly like llama2.c's {@code run.c}.</li>
 *   <li>{@link org.lowbit4j.datasets.TokenBatch}: a {@code [B, T]} batch of inputs and
 *       next-token targets, the one shape every dataset here produces.</li>
 *   <li>{@code text}: pre-training windows over a tokenized text file with a held-out split.</li>
 *   <li>{@code instruct}: Alpaca-style instruction data with prompt masking, padding or packing.</li>
 *   <li>{@code synthetic}: a procedural copy/add/reverse task with its own tokenizer file, for a
 *       demo that needs no downloads.</li>
 * </ul>
 */
package org.lowbit4j.datasets;
