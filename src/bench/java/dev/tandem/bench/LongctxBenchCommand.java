package dev.tandem.bench;

import dev.tandem.TandemException;
import dev.tandem.launch.Launcher;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench longctx}: one training step's forward, backward and gradient sum over a
 * pool of rank processes on a long-tailed mix of document lengths, three ways: data parallelism
 * with padding (micro-batches of {@code --rows} sequences padded to their longest), static context
 * parallelism (every sequence split over all ranks by ring attention) and hybrid data/context
 * parallelism (ByteScale: each sequence on ⌈L/C⌉ ranks, the short ones packed on one, balanced by
 * estimated compute). The mix is generated reproducibly from the bundled text ({@link LongctxWorker}).
 * Columns: tokens/s (real tokens over the median step time, the slowest rank's), padding fraction,
 * busiest rank's compute time over the mean, and the largest rank's peak activation memory.
 */
@Command(name = "longctx", mixinStandardHelpOptions = true,
        description = "Mixed-length sequences on rank processes: padded DP vs static context parallelism vs hybrid DP/CP (ByteScale).")
final class LongctxBenchCommand implements Runnable {
    @Option(names = "--ranks", defaultValue = "4", description = "Rank processes, the pool (default: ${DEFAULT-VALUE}).")
    int ranks;

    @Option(names = "--steps", defaultValue = "2", description = "Timed steps per row (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed steps first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--sequences", defaultValue = "32", description = "Documents per step (default: ${DEFAULT-VALUE}).")
    int sequences;

    @Option(names = "--long-min", defaultValue = "4096", description = "Shortest long document (default: ${DEFAULT-VALUE}).")
    int longMin;

    @Option(names = "--long-max", defaultValue = "8192", description = "Longest long document; also the context (default: ${DEFAULT-VALUE}).")
    int longMax;

    @Option(names = "--rows", defaultValue = "2", description = "Sequences per padded micro-batch in the DP row (default: ${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--n-layer", defaultValue = "1")
    int nLayer;

    @Option(names = "--n-embd", defaultValue = "32")
    int nEmbd;

    @Option(names = "--n-head", defaultValue = "2")
    int nHead;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the length mix (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--worker", hidden = true)
    boolean worker;

    @Override
    public void run() {
        LongctxWorker.Settings s = new LongctxWorker.Settings(steps, warmup, sequences, longMin, longMax, rows, nLayer, nEmbd, nHead, seed);
        if (worker) {
            LongctxWorker.run(s);
            return;
        }
        if (ranks < 2 || longMax % ranks != 0) throw new TandemException("--ranks " + ranks + " must be >= 2 and divide --long-max " + longMax);
        if (longMin > longMax || longMin < 513) throw new TandemException("--long-min must be in [513, --long-max], got " + longMin);
        System.out.printf(Locale.ROOT, "tandem bench longctx: %d rank processes on %s, %d cores; GPT n_layer %d, n_embd %d, n_head %d, "
                        + "vocab 2048; per step %d documents: 1 of %d–%d tokens, the rest 16–512 (exponential, mean ~170); "
                        + "tokens per rank C = %d; %d warm-up + %d timed steps; padded DP: %d rows per micro-batch%n",
                ranks, BenchInfo.cpuModel(), Runtime.getRuntime().availableProcessors(), nLayer, nEmbd, nHead, sequences, longMin, longMax,
                longMax / ranks, warmup, steps, rows);
        List<String> args = new ArrayList<>(List.of("bench", "longctx", "--worker", "--steps", "" + steps, "--warmup", "" + warmup,
                "--sequences", "" + sequences, "--long-min", "" + longMin, "--long-max", "" + longMax, "--rows", "" + rows,
                "--n-layer", "" + nLayer, "--n-embd", "" + nEmbd, "--n-head", "" + nHead, "--seed", "" + seed));
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8);
        try {
            new Launcher(out, System.err, Duration.ofSeconds(2)).launch(ranks, args, Map.of());
        } catch (RuntimeException e) {
            System.out.print(captured.toString(StandardCharsets.UTF_8));
            throw e;
        }
        List<String[]> results = captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("RESULT "))
                .map(l -> l.substring(l.indexOf("RESULT ") + 7).split("\t")).toList();
        System.out.printf(Locale.ROOT, "%n%-26s %12s %10s %14s %22s%n", "plan", "tokens/s", "padding", "busiest/mean", "peak activations/rank");
        double staticRate = 0, hybridRate = 0;
        for (String[] r : results) {
            double rate = Double.parseDouble(r[1]);
            if (r[0].startsWith("static")) staticRate = rate;
            if (r[0].startsWith("hybrid")) hybridRate = rate;
            System.out.printf(Locale.ROOT, "%-26s %12.0f %9.1f%% %14.2f %18.1f MiB%n", r[0], rate, 100 * Double.parseDouble(r[2]),
                    Double.parseDouble(r[3]), Double.parseDouble(r[4]) / (1 << 20));
        }
        if (staticRate > 0) System.out.printf(Locale.ROOT, "%nhybrid / static CP tokens/s: %.2f×%n", hybridRate / staticRate);
    }
}
