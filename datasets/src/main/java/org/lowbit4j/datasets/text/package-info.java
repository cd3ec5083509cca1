/**
 * Pre-training data from plain text: the whole text is tokenized once, split into a training
 * head and a held-out validation tail, then served as seeded random windows (training) or
 * sequential non-overlapping windows (validation perplexity), as
 * {@link org.lowbit4j.datasets.TokenBatch}es.
 */
package org.lowbit4j.datasets.text;
