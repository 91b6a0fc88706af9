package dev.tandem.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code tandem bench ...}: reproducible benchmarks, each side by side with a peer. */
@Command(name = "bench", description = "Benchmarks, each printed beside a peer measured in the same run.",
        subcommands = {CommBenchCommand.class, OptimBenchCommand.class})
final class BenchCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
