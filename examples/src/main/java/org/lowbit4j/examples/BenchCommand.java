package org.lowbit4j.examples;

import java.util.List;
import java.util.concurrent.Callable;
import org.lowbit4j.examples.bench.CodecBench;
import org.lowbit4j.examples.bench.GemmBench;
import org.lowbit4j.examples.bench.OptimBench;
import org.lowbit4j.examples.bench.OptimQuality;
import org.lowbit4j.examples.bench.PrecisionBench;
import org.lowbit4j.examples.bench.PrecisionQuality;
import org.lowbit4j.examples.bench.QloraBench;
import org.lowbit4j.examples.bench.TrainBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code lowbit4j bench NAME [args]}: runs one benchmark main; figures go in BENCHMARKS.md. */
@Command(name = "bench", description = "Run a benchmark: gemm | train | codecs | optim | optim-quality | qlora | precision | precision-quality.")
final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "benchmark name: gemm, train, codecs, optim, optim-quality, qlora, precision, precision-quality")
    String name;

    @Parameters(index = "1..*", description = "arguments passed to the benchmark main")
    List<String> rest = List.of();

    @Override
    public Integer call() throws Exception {
        String[] args = rest.toArray(String[]::new);
        switch (name) {
            case "gemm" -> GemmBench.run(args);
            case "train" -> TrainBench.run(args);
            case "codecs" -> CodecBench.run(args);
            case "optim" -> OptimBench.run(args);
            case "optim-quality" -> OptimQuality.run(args);
            case "qlora" -> QloraBench.run(args);
            case "precision" -> PrecisionBench.run(args);
            case "precision-quality" -> PrecisionQuality.run(args);
            default -> throw new IllegalArgumentException("unknown benchmark '" + name
                    + "'; expected one of gemm, train, codecs, optim, optim-quality, qlora, precision, precision-quality");
        }
        return 0;
    }
}
