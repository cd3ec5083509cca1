package org.lowbit4j.examples;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.lowbit4j.datasets.Tokenizer;
import org.lowbit4j.models.Generator;
import org.lowbit4j.models.InferenceSession;
import org.lowbit4j.models.Llama;
import org.lowbit4j.models.Llama2cFormat;
import org.lowbit4j.models.Sampler;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lowbit4j generate}: text generation exactly as llama2.c's {@code run.c}: the prompt and its
 * continuation go to standard output byte for byte as run.c prints them; the speed goes to standard
 * error ("achieved tok/s", as run.c).
 */
@Command(name = "generate", description = "Generate text from a llama2.c checkpoint, exactly as llama2.c's run.c.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "llama2.c checkpoint (v0, v1 or v2)")
    Path model;

    @Option(names = "--tokenizer", required = true, description = "llama2.c tokenizer file, e.g. tok512.bin")
    Path tokenizer;

    @Option(names = "--prompt", defaultValue = "", description = "prompt text (default: empty)")
    String prompt;

    @Option(names = "--steps", defaultValue = "256",
            description = "positions to run, prompt included; 0 or more than seq_len means seq_len (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--temperature", defaultValue = "1.0", description = "0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.9", description = "nucleus sampling in (0, 1); outside = off (default: ${DEFAULT-VALUE})")
    float topP;

    @Option(names = "--seed", description = "random seed (default: current time, as run.c)")
    Long seed;

    @Override
    public Integer call() throws Exception {
        if (temperature < 0 || Float.isNaN(temperature)) {
            throw new IllegalArgumentException("--temperature must be >= 0, got " + temperature);
        }
        if (steps < 0) {
            throw new IllegalArgumentException("--steps must be >= 0, got " + steps);
        }
        Llama llama = Llama2cFormat.read(model, DataType.FLOAT);
        Tokenizer tok = Tokenizer.load(tokenizer, llama.config().vocabSize());
        long rngSeed = seed != null ? seed : System.currentTimeMillis() / 1000;
        Sampler sampler = new Sampler(llama.config().vocabSize(), temperature, topP, rngSeed);
        Generator generator = new Generator(new InferenceSession(llama), tok, sampler);
        // Raw bytes, as run.c prints them (pieces may be partial UTF-8 sequences).
        OutputStream out = new BufferedOutputStream(System.out);
        Generator.Generation g = generator.generate(prompt, steps, out);
        out.flush();
        PrintStream err = System.err;
        err.printf("achieved tok/s: %f%n", g.tokensPerSecond());
        return 0;
    }
}
