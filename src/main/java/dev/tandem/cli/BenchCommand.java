package dev.tandem.cli;

import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code tandem bench ...}: reproducible benchmarks, each side by side with a peer.
 *
 * <p>The benchmarks live in the bench source set ({@code src/bench/java}, package
 * {@code dev.tandem.bench}); this command only dispatches to them. The core never refers to bench
 * code: {@link #addBenchmarks} looks up one entry class by name, and that class adds the
 * benchmarks as subcommands (the ones that link a peer library only where the {@code bench}
 * profile built them; see {@code dev.tandem.bench.Benchmarks}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, header = "Benchmarks, each beside a peer measured in the same run.",
        description = "Benchmarks, each printed beside a peer measured in the same run.")
final class BenchCommand implements Runnable {
    /** The entry class of the bench source set: a {@code Consumer<CommandLine>} that adds the benchmarks. */
    static final String BENCHMARKS = "dev.tandem.bench.Benchmarks";

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Adds the benchmarks to {@code bench}; none where the bench source set was not compiled. */
    @SuppressWarnings("unchecked")
    static void addBenchmarks(CommandLine bench) {
        Consumer<CommandLine> benchmarks;
        try {
            benchmarks = (Consumer<CommandLine>) Class.forName(BENCHMARKS).getDeclaredConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            return; // every Maven build compiles src/bench/java; without it, `bench` lists nothing to run
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create " + BENCHMARKS, e);
        }
        benchmarks.accept(bench);
    }
}
