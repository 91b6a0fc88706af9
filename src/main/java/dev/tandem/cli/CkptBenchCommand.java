package dev.tandem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.train.StepMetrics;
import dev.tandem.train.TrainConfig;
import dev.tandem.train.Trainer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench ckpt}: what checkpointing costs training, synchronous (the peer: write
 * everything before continuing) against lazy asynchronous snapshots (DataStates-LLM), saving
 * every step and every 10 steps. Each configuration trains the same model for the same steps in
 * this process, after a warm-up run for the JIT; steps inside each run's warm-up are not timed.
 * Reported: training time blocked per checkpoint (median) and the end-to-end slowdown against
 * the same run without checkpoints (measured before and after the others, to show the drift).
 */
@Command(name = "ckpt", description = "Checkpoint cost: blocked time per save and end-to-end slowdown, sync vs async.")
final class CkptBenchCommand implements Runnable {
    @Option(names = "--steps", defaultValue = "40", description = "Timed steps per run (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "5", description = "Untimed steps at the start of each run (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--n-layer", defaultValue = "4")
    int nLayer;

    @Option(names = "--n-embd", defaultValue = "192")
    int nEmbd;

    @Option(names = "--batch-size", defaultValue = "16")
    int batchSize;

    @Option(names = "--dir", defaultValue = "runs/bench-ckpt", description = "Where runs and checkpoints go (default: ${DEFAULT-VALUE}).")
    Path dir;

    private record Run(String mode, int every, double totalMs, double medianStepMs, int saves, double blockedMedianMs, long snapshotBytes) {}

    @Override
    public void run() {
        if (steps < 10 || warmup < 1) throw new TandemException("--steps must be >= 10 and --warmup >= 1");
        PrintStream out = System.out;
        out.printf("bench ckpt: GPT n_layer %d, n_embd %d, batch %d, block 128; %d timed steps after %d warm-up steps per run; runs in %s%n",
                nLayer, nEmbd, batchSize, steps, warmup, dir);
        train("jit-warmup", "none", 0, false); // JIT and data cache; not reported
        List<Run> runs = new ArrayList<>();
        runs.add(train("none-before", "none", 0, false));
        for (int every : new int[] {1, 10}) {
            runs.add(train("sync-" + every, "sync", every, false));
            runs.add(train("async-" + every, "async", every, true));
        }
        runs.add(train("none-after", "none", 0, false));
        double base = (runs.getFirst().totalMs() + runs.getLast().totalMs()) / 2;
        double drift = 100 * Math.abs(runs.getFirst().totalMs() - runs.getLast().totalMs()) / base;
        out.println();
        out.printf("%-6s %6s %6s %14s %16s %12s %12s%n", "mode", "every", "saves", "snapshot MB", "blocked ms/save", "step ms", "slowdown");
        for (Run r : runs) {
            out.printf("%-6s %6s %6d %14s %16s %12.1f %11.1f%%%n", r.mode(), r.every() == 0 ? "-" : Integer.toString(r.every()), r.saves(),
                    r.saves() == 0 ? "-" : String.format("%.1f", r.snapshotBytes() / 1e6),
                    r.saves() == 0 ? "-" : String.format("%.2f", r.blockedMedianMs()), r.medianStepMs(), 100 * (r.totalMs() / base - 1));
        }
        out.printf("baseline = mean of the two runs without checkpoints (they differ by %.1f%%: the noise floor of this table)%n", drift);
        for (int every : new int[] {1, 10}) {
            Run s = find(runs, "sync", every), a = find(runs, "async", every);
            out.printf("every %d steps: async blocks %.1fx less than sync per save (%.2f vs %.2f ms)%n", every,
                    s.blockedMedianMs() / Math.max(1e-3, a.blockedMedianMs()), a.blockedMedianMs(), s.blockedMedianMs());
        }
    }

    private static Run find(List<Run> runs, String mode, int every) {
        return runs.stream().filter(r -> r.mode().equals(mode) && r.every() == every).findFirst().orElseThrow();
    }

    private Run train(String name, String mode, int every, boolean async) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("n_layer", Integer.toString(nLayer));
        o.put("n_head", "4");
        o.put("n_embd", Integer.toString(nEmbd));
        o.put("batch_size", Integer.toString(batchSize));
        o.put("steps", Integer.toString(warmup + steps));
        o.put("eval_every", "0");
        o.put("eval_batches", "1");
        o.put("log_every", "100000");
        o.put("name", name);
        o.put("runs_dir", dir.toString());
        o.put("ckpt_every", Integer.toString(every));
        o.put("async_ckpt", Boolean.toString(async));
        o.put("keep_last", "2");
        System.out.printf("  %-12s ...", name);
        System.out.flush();
        Trainer.Result r = Trainer.runSingle(TrainConfig.load(null, o), new PrintStream(OutputStream.nullOutputStream()), false);
        List<Double> timed = r.steps().subList(warmup, r.steps().size()).stream().map(StepMetrics::stepMs).toList();
        double total = timed.stream().mapToDouble(Double::doubleValue).sum();
        double median = timed.stream().sorted().toList().get(timed.size() / 2);
        int saves = 0;
        double blocked = 0;
        long bytes = 0;
        Path stats = r.runDir().resolve("checkpoint-stats.json");
        if (every > 0) {
            try {
                JsonNode s = new ObjectMapper().readTree(stats.toFile());
                saves = s.path("saves").asInt();
                blocked = s.path("blocked_ms_median").asDouble();
                bytes = s.path("snapshot_bytes").asLong();
            } catch (IOException e) {
                throw new TandemException("cannot read " + stats + ": " + e.getMessage(), e);
            }
        }
        System.out.printf(" %.0f ms%n", total);
        try {
            Files.deleteIfExists(stats);
        } catch (IOException ignored) {
            // a stale stats file would only be overwritten
        }
        return new Run(mode, every, total, median, saves, blocked, bytes);
    }
}
