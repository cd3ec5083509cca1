package org.lowbit4j.examples;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code lowbit4j} command: one subcommand per workflow. Results go to standard output; logs and
 * progress to standard error. Run through the {@code ./lowbit4j} launcher, which selects JDK 25 and
 * passes the JVM flags the kernels need.
 */
@Command(name = "lowbit4j", mixinStandardHelpOptions = true, version = "lowbit4j 0.1.0",
        description = "Low-bit training and QLoRA fine-tuning of Llama-style models on ND4J.",
        subcommands = {
            GenerateCommand.class,
            PretrainCommand.class,
            DemoCommand.class,
            FinetuneCommand.class,
            EvalCommand.class,
            BenchCommand.class,
        })
public final class Lowbit4j implements Runnable {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    /**
     * @return the command tree; options a subcommand does not declare are passed on as positional
     *     arguments, so {@code bench NAME --steps 4} reaches the benchmark's own parser
     */
    static CommandLine commandLine() {
        return new CommandLine(new Lowbit4j())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setUnmatchedOptionsArePositionalParams(true);
    }

    /** @param args command line; exits with the command's status (2 for usage errors) */
    public static void main(String[] args) {
        int code = commandLine()
                .setExecutionExceptionHandler((ex, cmd, parsed) -> {
                    // A clear one-line error for bad input; the stack trace only with -Dlowbit4j.debug=true.
                    String why = ex instanceof java.nio.file.NoSuchFileException nf ? "file not found: " + nf.getFile()
                            : ex.getMessage();
                    cmd.getErr().println("lowbit4j " + cmd.getCommandName() + ": " + why);
                    if (Boolean.getBoolean("lowbit4j.debug")) {
                        ex.printStackTrace(cmd.getErr());
                    }
                    return 1;
                })
                .execute(args);
        System.exit(code);
    }
}
