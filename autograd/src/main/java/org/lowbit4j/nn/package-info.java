/**
 * Neural-network building blocks on top of the autograd engine: {@link org.lowbit4j.nn.Module} (an
 * ordered tree of named parameters and children), the drop-in {@link org.lowbit4j.nn.Layer}
 * contract, {@link org.lowbit4j.nn.Linear}, {@link org.lowbit4j.nn.Embedding},
 * {@link org.lowbit4j.nn.RmsNorm}, the indexed container {@link org.lowbit4j.nn.ModuleList} and
 * deterministic seeded initialisation ({@link org.lowbit4j.nn.Init}).
 *
 * <p>Every map in this package is insertion-ordered: parameter order, and therefore optimizer
 * state and checkpoint order, never depends on hash codes.
 */
package org.lowbit4j.nn;
