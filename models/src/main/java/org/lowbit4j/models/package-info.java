/**
 * The Llama architecture ({@link org.lowbit4j.models.Llama}, configured by
 * {@link org.lowbit4j.models.LlamaConfig}) for training on the autograd engine, llama2.c checkpoint
 * files ({@link org.lowbit4j.models.Llama2cFormat}: read v0/v1/v2, write v0/v1/v2), and exact
 * generation that reproduces llama2.c's {@code run.c} bit for bit
 * ({@link org.lowbit4j.models.InferenceSession}, {@link org.lowbit4j.models.Sampler},
 * {@link org.lowbit4j.models.Generator}).
 */
package org.lowbit4j.models;
