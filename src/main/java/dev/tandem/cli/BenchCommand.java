package dev.tandem.cli;

import dev.tandem.TandemException;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code tandem bench ...}: reproducible benchmarks, each side by side with a peer.
 *
 * <p>Benchmarks that link a peer (OpenBLAS, ...) live in {@code src/bench/java} and are compiled
 * only by the Maven {@code bench} profile, which {@code ./tandem bench} builds. The core never
 * refers to them: {@link #addPeerBenchmarks} looks them up by class name and, when a build
 * without that profile runs, registers a stand-in that says how to get the real one.
 */
@Command(name = "bench", description = "Benchmarks, each printed beside a peer measured in the same run.",
        subcommands = {CommBenchCommand.class, OptimBenchCommand.class, CkptBenchCommand.class})
final class BenchCommand implements Runnable {
    /** Subcommand name → class in the bench profile. */
    private static final Map<String, String> PEER_BENCHMARKS = Map.of(
            "gemm", "dev.tandem.cli.GemmBenchCommand",
            "train", "dev.tandem.bench.BenchTrainCommand");

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Adds each peer benchmark to {@code bench}: the real command if built, else a stand-in. */
    static void addPeerBenchmarks(CommandLine bench) {
        PEER_BENCHMARKS.forEach((name, className) -> {
            Object command;
            try {
                command = Class.forName(className).getDeclaredConstructor().newInstance();
            } catch (ClassNotFoundException e) {
                command = null;
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot create benchmark " + className, e);
            }
            if (command != null) {
                bench.addSubcommand(name, command);
            } else {
                CommandSpec missing = CommandSpec.wrapWithoutInspection((Runnable) () -> {
                    throw new TandemException("this build has no 'bench " + name + "': run ./tandem bench " + name
                            + " (built with the bench profile)");
                });
                missing.usageMessage().description("Not in this build: run ./tandem bench " + name + ".");
                bench.addSubcommand(name, new CommandLine(missing));
            }
        });
    }
}
