package org.lowbit4j.models;

import java.util.SplittableRandom;
import org.lowbit4j.autograd.F;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.nn.Embedding;
import org.lowbit4j.nn.Init;
import org.lowbit4j.nn.Layer;
import org.lowbit4j.nn.Linear;
import org.lowbit4j.nn.Module;
import org.lowbit4j.nn.ModuleList;
import org.lowbit4j.nn.RmsNorm;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A Llama-style decoder (llama2.c's {@code model.py}) on the autograd engine.
 *
 * <p>Parameter names follow llama2.c / Meta: {@code tok_embeddings.weight},
 * {@code layers.N.attention.{wq,wk,wv,wo}.weight}, {@code layers.N.attention_norm.weight},
 * {@code layers.N.feed_forward.{w1,w2,w3}.weight}, {@code layers.N.ffn_norm.weight},
 * {@code norm.weight}, and {@code output.weight} only when the classifier is not shared (when it
 * is, the logits use {@code tok_embeddings.weight} and its gradient gets both contributions).
 * Every linear is looked up by name at forward time, so {@link #replaceChild} anywhere in the tree
 * (LoRA, quantized linears) takes effect.
 */
public final class Llama extends Module {
    private final LlamaConfig config;
    private final DataType dataType;
    /**
     * The two legacy RoPE tables of a v0 file ({@code cos} then {@code sin}, each
     * {@code [maxSeqLen, D/2]}), kept verbatim so that writing v0 back is byte-identical; null when
     * the model did not come from a v0 file.
     */
    private float[] legacyRopeTables;

    /**
     * A model with zero weights and unit norms, ready to be filled by a loader; use
     * {@link #random} for a trainable initialisation.
     *
     * @param dataType FLOAT (normal) or DOUBLE (float64 checks)
     * @throws IllegalArgumentException for another data type
     */
    public Llama(LlamaConfig config, DataType dataType) {
        if (dataType != DataType.FLOAT && dataType != DataType.DOUBLE) {
            throw new IllegalArgumentException("Llama supports FLOAT and DOUBLE, got " + dataType);
        }
        this.config = config;
        this.dataType = dataType;
        addChild("tok_embeddings", new Embedding(Nd4j.zeros(dataType, config.vocabSize(), config.dim())));
        ModuleList layers = addChild("layers", new ModuleList());
        for (int i = 0; i < config.nLayers(); i++) {
            layers.add(new LlamaBlock(config, dataType));
        }
        addChild("norm", new RmsNorm(config.dim(), config.normEps(), dataType));
        if (!config.sharedClassifier()) {
            addChild("output", new Linear(Nd4j.zeros(dataType, config.vocabSize(), config.dim())));
        }
    }

    /**
     * A randomly initialised model (see {@link #initialize(long)}).
     */
    public static Llama random(LlamaConfig config, DataType dataType, long seed) {
        Llama m = new Llama(config, dataType);
        m.initialize(seed);
        return m;
    }

    /**
     * Re-initialises every weight as llama2.c's {@code model.py} does: one {@link SplittableRandom}
     * seeded with {@code seed} fills the parameters in {@link #namedParameters()} order (row-major
     * within each); linear and embedding weights get normal(0, 0.02), except {@code wo} and {@code w3}
     * which get normal(0, 0.02 / sqrt(2 * nLayers)) (GPT-2's scaled residual init); norm weights get 1.
     */
    public void initialize(long seed) {
        var rng = new SplittableRandom(seed);
        double residualStd = Init.DEFAULT_STD / Math.sqrt(2.0 * config.nLayers());
        for (var e : namedParameters().entrySet()) {
            String name = e.getKey();
            INDArray value = e.getValue().value();
            if (name.endsWith("norm.weight")) {
                value.assign(1.0);
            } else if (name.endsWith("wo.weight") || name.endsWith("w3.weight")) {
                Init.normal_(value, rng, residualStd);
            } else {
                Init.normal_(value, rng, Init.DEFAULT_STD);
            }
        }
        legacyRopeTables = null;
    }

    /** @return the configuration */
    public LlamaConfig config() {
        return config;
    }

    /** @return FLOAT or DOUBLE */
    public DataType dataType() {
        return dataType;
    }

    /** @return the token embedding module */
    public Embedding tokEmbeddings() {
        return (Embedding) child("tok_embeddings");
    }

    /** @return the blocks; {@code layers().get(i)} is {@code layers.i} */
    public ModuleList layers() {
        return (ModuleList) child("layers");
    }

    /**
     * @return the weight the logits are computed with: {@code output.weight}, or
     *     {@code tok_embeddings.weight} when shared [V, C]
     */
    public Tensor classifierWeight() {
        return config.sharedClassifier() ? tokEmbeddings().weight() : ((Linear) child("output")).weight();
    }

    /**
     * The training forward pass over whole sequences starting at position 0.
     *
     * @param tokens integer array [B, T], values in [0, V), T &le; maxSeqLen
     * @return logits [B, T, V]
     * @throws IllegalArgumentException for a bad shape or token id
     */
    public Tensor forward(INDArray tokens) {
        Tensor x = finalHiddenStates(tokens);                // [B, T, C]
        if (config.sharedClassifier()) {
            return F.linear(x, tokEmbeddings().weight());    // [B, T, V]
        }
        return layer("output").forward(x);                    // [B, T, V]
    }

    /**
     * Mean next-token cross-entropy.
     *
     * <p>When the classifier is a plain weight (shared, or an {@code output} that is exactly a
     * {@link Linear}, not a replacement), the classifier and the loss run as one primitive
     * ({@link F#linearCrossEntropy}): same numbers, but the [B, T, V] logits never reach the tape.
     *
     * @param inputs integer array [B, T]
     * @param targets integer array [B, T]; positions equal to {@code ignoreIndex} do not count
     * @return a scalar tensor (nats per kept position)
     */
    public Tensor loss(INDArray inputs, INDArray targets, int ignoreIndex) {
        if (!java.util.Arrays.equals(inputs.shape(), targets.shape())) {
            throw new IllegalArgumentException("Llama.loss: inputs " + java.util.Arrays.toString(inputs.shape())
                    + " and targets " + java.util.Arrays.toString(targets.shape()) + " must have the same shape");
        }
        Tensor x = finalHiddenStates(inputs);                             // [B, T, C]
        if (config.sharedClassifier()) {
            return F.linearCrossEntropy(x, tokEmbeddings().weight(), targets, ignoreIndex); // []
        }
        Module output = child("output");
        if (output.getClass() == Linear.class) {
            return F.linearCrossEntropy(x, ((Linear) output).weight(), targets, ignoreIndex); // []
        }
        return F.crossEntropy(layer("output").forward(x), targets, ignoreIndex); // []
    }

    /**
     * Embedding, blocks and final norm: everything before the classifier.
     *
     * @param tokens integer array [B, T], values in [0, V), T &le; maxSeqLen
     * @return the normalised hidden states [B, T, C]
     * @throws IllegalArgumentException for a bad shape or token id
     */
    private Tensor finalHiddenStates(INDArray tokens) {
        if (tokens.rank() != 2) {
            throw new IllegalArgumentException("Llama.forward: tokens must be [B, T], got shape "
                    + java.util.Arrays.toString(tokens.shape()));
        }
        if (tokens.size(1) > config.maxSeqLen()) {
            throw new IllegalArgumentException("Llama.forward: sequence length " + tokens.size(1)
                    + " exceeds maxSeqLen " + config.maxSeqLen());
        }
        Tensor x = tokEmbeddings().forward(tokens);           // [B, T, C]
        ModuleList blocks = layers();
        for (int i = 0; i < blocks.size(); i++) {
            x = ((Layer) blocks.get(i)).forward(x);           // [B, T, C]
        }
        return layer("norm").forward(x);                      // [B, T, C]
    }

    /** @return the legacy v0 RoPE tables as read, or null (package use: the v0 writer) */
    float[] legacyRopeTables() {
        return legacyRopeTables;
    }

    void legacyRopeTables(float[] tables) {
        this.legacyRopeTables = tables;
    }
}
