package org.lowbit4j.examples;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code lowbit4j bench NAME [args]}: runs one benchmark main; figures go in BENCHMARKS.md. */
@Command(name = "bench", description = "Run a benchmark: gemm | train | codecs | optim | qlora.")
final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "benchmark name: gemm, train, codecs, optim, qlora")
    String name;

    @Parameters(index = "1..*", description = "arguments passed to the benchmark main")
    List<String> rest = List.of();

    @Override
    public Integer call() throws Exception {
        String[] args = rest.toArray(String[]::new);
        switch (name) {
            default -> throw new IllegalArgumentException("unknown benchmark '" + name
                    + "'; expected one of gemm, train, codecs, optim, qlora");
        }
    }
}
