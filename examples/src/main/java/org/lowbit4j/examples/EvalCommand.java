package org.lowbit4j.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.quant.RoundToNearest;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.Llama2cFormat;
import org.lowbit4j.models.eval.Perplexity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lowbit4j eval}: perplexity of a model on a text file by the protocol of
 * {@link Perplexity}, optionally after round-to-nearest quantization of the seven linear weight
 * matrices of every layer (wq, wk, wv, wo, w1, w2, w3); embeddings, classifier and norms stay fp32.
 * Prints one JSON line to standard output.
 */
@Command(name = "eval", description = "Perplexity of a model on a text file, optionally after round-to-nearest quantization.")
final class EvalCommand implements Callable<Integer> {
    /** The seven linear weights of each layer, by their hierarchical parameter names. */
    static final Pattern LINEAR_WEIGHTS =
            Pattern.compile("layers\\.\\d+\\.(attention\\.(wq|wk|wv|wo)|feed_forward\\.(w1|w2|w3))\\.weight");

    @Option(names = "--model", required = true, description = "llama2.c checkpoint")
    Path model;

    @Option(names = "--tokenizer", required = true, description = "llama2.c tokenizer file")
    Path tokenizer;

    @Option(names = "--data", required = true, description = "UTF-8 text file")
    Path data;

    @Option(names = "--seq", defaultValue = "256", description = "chunk length (default: ${DEFAULT-VALUE})")
    int seq;

    @Option(names = "--quantize", description = "nf4, fp4, int4, int8, fp8-e4m3, fp8-e5m2, bf16, fp16 (default: none)")
    String quantize;

    @Option(names = "--block", defaultValue = "64", description = "block size for absmax scaling (default: ${DEFAULT-VALUE})")
    int block;

    @Override
    public Integer call() throws Exception {
        Llama llama = Llama2cFormat.read(model, DataType.FLOAT);
        if (seq < 1 || seq > llama.config().maxSeqLen()) {
            throw new IllegalArgumentException("--seq must be in [1, " + llama.config().maxSeqLen() + "], got " + seq);
        }
        Tokenizer tok = Tokenizer.load(tokenizer, llama.config().vocabSize());
        int quantized = quantize == null ? 0 : quantizeLinears(llama, quantize, block);
        int[] tokens = tok.encode(Files.readString(data, StandardCharsets.UTF_8), true, false);
        long t0 = System.nanoTime();
        Perplexity.Result r = Perplexity.evaluate(llama, tokens, seq);
        double seconds = (System.nanoTime() - t0) / 1e9;

        ObjectNode json = new ObjectMapper().createObjectNode();
        json.put("model", model.toString());
        json.put("data", data.toString());
        json.put("seq", seq);
        json.put("quantize", quantize == null ? "none" : quantize);
        if (quantize != null) {
            json.put("block", block);
            json.put("quantized_matrices", quantized);
        }
        json.put("tokens", r.tokens());
        json.put("chunks", r.chunks());
        json.put("nll", r.nll());
        json.put("perplexity", r.perplexity());
        json.put("seconds", seconds);
        System.out.println(json);
        return 0;
    }

    /**
     * Quantizes then dequantizes the seven linear weights of every layer in place.
     *
     * @return the number of matrices changed
     */
    static int quantizeLinears(Llama llama, String format, int block) {
        int n = 0;
        for (Map.Entry<String, Tensor> e : llama.namedParameters().entrySet()) {
            if (!LINEAR_WEIGHTS.matcher(e.getKey()).matches()) {
                continue;
            }
            INDArray w = e.getValue().value();
            float[] values = w.dup('c').data().asFloat();
            float[] q = RoundToNearest.quantizeDequantize(values, format, block);
            w.assign(Nd4j.createFromArray(q).reshape('c', w.shape()));
            n++;
        }
        return n;
    }
}
