/**
 * Instruction-tuning data in the Alpaca format: reading JSON / JSONL records
 * ({@link org.lowbit4j.datasets.instruct.InstructionReader}), the Alpaca prompt template
 * ({@link org.lowbit4j.datasets.instruct.AlpacaTemplate}), encoding with the prompt masked out
 * of the loss ({@link org.lowbit4j.datasets.instruct.EncodedExample}), and batching by right
 * padding or by packing ({@link org.lowbit4j.datasets.instruct.InstructionDataset}).
 */
package org.lowbit4j.datasets.instruct;
