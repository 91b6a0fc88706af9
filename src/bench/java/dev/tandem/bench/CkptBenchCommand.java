package dev.tandem.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.launch.Launcher;
import dev.tandem.train.MetricsLog;
import dev.tandem.train.config.TrainConfig;
import java.io.IOException;
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
 * every step and every 10 steps. Each configuration trains the same model for the same steps as
 * {@code tandem train} does, each run in a JVM of its own (runs sharing one JVM came out 5–10 %
 * apart on every step with and without checkpoints, which separate JVMs do not show); steps
 * inside each run's warm-up are not timed.
 * Reported: training time blocked per checkpoint (median over all saves; a save's blocked time is
 * the save call plus any wait before the next optimizer step) and the end-to-end slowdown against
 * a run without checkpoints in the same round. Configurations run in rounds, in rotated order,
 * because the speed of a shared machine drifts over minutes; a second run without checkpoints per
 * round shows how far two identical runs differ.
 */
@Command(name = "ckpt", mixinStandardHelpOptions = true,
        description = "Checkpoint cost: blocked time per save and end-to-end slowdown, sync vs async.")
final class CkptBenchCommand implements Runnable {
    @Option(names = "--steps", defaultValue = "20", description = "Timed steps per run (default: ${DEFAULT-VALUE}).")
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

    /** @param backgroundCpuMs CPU time of the async copy and persist threads */
    private record Run(List<Double> stepMs, double totalMs, double medianStepMs, double fastestStepMs, int saves, List<Double> blockedMs,
                       long snapshotBytes, double backgroundCpuMs) {
        /** Time taken from training if every background CPU millisecond were taken from the computation. */
        double costMs() {
            return blockedMs.stream().mapToDouble(Double::doubleValue).sum() + backgroundCpuMs;
        }
    }

    @Option(names = "--every", split = ",", defaultValue = "1,10",
            description = "Checkpoint intervals to measure, in steps (default: ${DEFAULT-VALUE}); e.g. --every 10 measures that "
                    + "interval without the every-step runs (and their gigabytes of writes) beside it.")
    List<Integer> intervals;

    @Option(names = "--rounds", defaultValue = "3",
            description = "Rounds over all configurations, each in a rotated order; medians are reported (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--in-run", description = "Measure the slowdown inside each run instead of between runs: save once per 2×E "
            + "steps, in the first or the second half of each 2×E-step cycle, and compare the E steps from each save on with "
            + "the other half of its cycle (see InRunSlowdown).")
    boolean inRun;

    private record Config(String mode, int every) {}

    @Override
    public void run() {
        if (steps < 10 || warmup < 1 || rounds < 1) throw new TandemException("--steps must be >= 10, --warmup >= 1, --rounds >= 1");
        if (intervals.isEmpty() || intervals.stream().anyMatch(e -> e < 1)) throw new TandemException("--every needs intervals >= 1, e.g. 1,10");
        PrintStream out = System.out;
        out.printf("bench ckpt: GPT n_layer %d, n_embd %d, batch %d, block 128; %d timed steps after %d warm-up steps per run; "
                + "%d rounds; runs in %s%n", nLayer, nEmbd, batchSize, steps, warmup, rounds, dir);
        train("cache-warmup", "none", 0, ""); // the token cache and the page cache; not reported
        if (inRun) {
            runInRun(out);
            return;
        }
        // Two runs without checkpoints per round: the first is the baseline every configuration is
        // compared with, the second measures how much two identical runs differ (the noise floor).
        List<Config> configs = new ArrayList<>(List.of(new Config("none", 0), new Config("control", 0)));
        for (int every : intervals) {
            configs.add(new Config("sync", every));
            configs.add(new Config("async", every));
        }
        Map<Config, List<Run>> results = inRounds(configs,
                c -> train(c.mode() + "-" + c.every(), c.mode().equals("control") ? "none" : c.mode(), c.every(), ""));
        List<Run> base = results.get(configs.getFirst());
        out.println();
        out.printf("%-7s %6s %6s %12s %16s %14s %12s %10s %18s %10s%n", "mode", "every", "saves", "snapshot MB", "blocked ms/save",
                "bg CPU ms/save", "step ms", "slowdown", "per-round range", "CPU bound");
        for (Config c : configs.subList(1, configs.size())) {
            List<Run> rs = results.get(c);
            int saves = rs.stream().mapToInt(Run::saves).sum();
            double blocked = median(rs.stream().flatMap(r -> r.blockedMs().stream()).sorted().toList());
            double step = median(rs.stream().map(Run::medianStepMs).sorted().toList());
            List<Double> slowdowns = pairedSlowdowns(rs, base);
            double bgPerSave = saves == 0 ? 0 : rs.stream().mapToDouble(Run::backgroundCpuMs).sum() / saves;
            List<Double> bounds = new ArrayList<>();
            // Against the baseline's fastest step × steps: the closest to unloaded training time the run saw.
            for (int i = 0; i < rs.size(); i++) bounds.add(rs.get(i).costMs() / (base.get(i).fastestStepMs() * steps));
            out.printf("%-7s %6s %6d %12s %16s %14s %12.1f %9.1f%% %8.1f%% … %5.1f%% %9.1f%%%n", c.mode(),
                    c.every() == 0 ? "-" : Integer.toString(c.every()), saves,
                    saves == 0 ? "-" : String.format("%.1f", rs.getFirst().snapshotBytes() / 1e6),
                    saves == 0 ? "-" : String.format("%.2f", blocked), saves == 0 ? "-" : String.format("%.1f", bgPerSave), step,
                    100 * median(slowdowns), 100 * slowdowns.getFirst(), 100 * slowdowns.getLast(),
                    100 * median(bounds.stream().sorted().toList()));
        }
        out.printf("baseline (no checkpoints): median step %.1f ms. slowdown = median over rounds of (this run's time for the timed "
                + "steps / the baseline's in the same round) - 1; 'control' is a second run without checkpoints, so its row is the "
                + "noise floor of that column. CPU bound = (blocked time + CPU time of the background checkpoint threads) / (the "
                + "baseline's fastest step × steps): the slowdown if every background CPU millisecond were taken from training; it "
                + "needs no quiet wall clock, only one baseline step that ran undisturbed%n",
                median(base.stream().map(Run::medianStepMs).sorted().toList()));
        for (int every : intervals) {
            double s = median(blockedOf(results, "sync", every)), a = median(blockedOf(results, "async", every));
            out.printf("every %d steps: async blocks %.1fx less than sync per save (%.2f vs %.2f ms, medians)%n", every,
                    s / Math.max(1e-3, a), a, s);
        }
    }

    /**
     * The in-run comparison: per interval E, runs without checkpoints (the noise floor: the same
     * blocks compared where nothing differs), with synchronous and with asynchronous checkpoints
     * once per 2×E steps, in rotated order per round. Two runs of different JVMs can differ by more
     * than the effect; two neighbouring blocks of E steps of one run differ much less.
     */
    private void runInRun(PrintStream out) {
        List<Config> configs = new ArrayList<>();
        for (int every : intervals) {
            if (every < 2) throw new TandemException("--in-run needs intervals >= 2 (it compares blocks of E steps), got " + every);
            if (steps < 4 * every) throw new TandemException("--in-run with --every " + every + " needs --steps >= " + 4 * every);
            for (String mode : List.of("none", "sync", "async")) configs.add(new Config(mode, every));
        }
        Map<Config, List<InRunSlowdown.Pair>> pairs = new LinkedHashMap<>();
        inRounds(configs, c -> train(c.mode() + "-ab" + c.every(), c.mode(), 0,
                c.mode().equals("none") ? "" : InRunSlowdown.ckptSteps(warmup + steps, warmup, c.every())))
                .forEach((c, runs) -> pairs.put(c, runs.stream().flatMap(r -> InRunSlowdown.pairs(r.stepMs(), warmup, c.every()).stream()).toList()));
        out.println();
        out.printf("%-7s %6s %6s %14s %14s %10s %18s %12s %18s%n", "mode", "every", "pairs", "save block ms", "clean ms", "slowdown",
                "95% interval", "pair median", "pair range");
        for (Config c : configs) {
            List<InRunSlowdown.Pair> ps = pairs.get(c);
            List<Double> each = ps.stream().map(InRunSlowdown.Pair::slowdown).sorted().toList();
            double[] ci = InRunSlowdown.interval(ps);
            out.printf("%-7s %6d %6d %14.1f %14.1f %9.2f%% %7.2f%% … %5.2f%% %11.2f%% %8.1f%% … %5.1f%%%n", c.mode(), c.every(),
                    ps.size(), ps.stream().mapToDouble(InRunSlowdown.Pair::saveBlockMs).sum() / ps.size() / c.every(),
                    ps.stream().mapToDouble(InRunSlowdown.Pair::cleanBlockMs).sum() / ps.size() / c.every(),
                    100 * InRunSlowdown.pooled(ps), 100 * ci[0], 100 * ci[1], 100 * median(each), 100 * each.getFirst(),
                    100 * each.getLast());
        }
        out.println("in-run: each run saves once per 2×E-step cycle, at the start of its first or second half (first, second, "
                + "second, first, ...); 'save block' = mean step over the E steps from each save on (the save, the copy, the "
                + "writing), 'clean' = mean step over the cycle's other half. slowdown = sum(save blocks) / sum(clean) - 1 over "
                + "all pairs = the slowdown of saving every E steps; 95% interval: of that estimate, by resampling the pairs "
                + "(bootstrap). 'none' splits runs without checkpoints the same way: its row is the noise floor.");
    }

    /**
     * Runs every configuration {@link #rounds} times, each round in a rotated order, so the slow
     * drift of a shared machine spreads over all configurations; the runs per configuration, in order.
     */
    private Map<Config, List<Run>> inRounds(List<Config> configs, java.util.function.Function<Config, Run> train) {
        Map<Config, List<Run>> results = new LinkedHashMap<>();
        configs.forEach(c -> results.put(c, new ArrayList<>()));
        BenchProgress progress = new BenchProgress("ckpt", rounds * configs.size(), System.err);
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < configs.size(); i++) {
                Config c = configs.get((i + round) % configs.size());
                progress.next("round " + (round + 1) + " of " + rounds + ": " + c.mode() + ", every " + c.every());
                results.get(c).add(train.apply(c));
            }
        }
        return results;
    }

    /** Per round, the run's total time over the baseline's in the same round, minus one; sorted. */
    private static List<Double> pairedSlowdowns(List<Run> runs, List<Run> base) {
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) out.add(runs.get(i).totalMs() / base.get(i).totalMs() - 1);
        return out.stream().sorted().toList();
    }

    private static List<Double> blockedOf(Map<Config, List<Run>> results, String mode, int every) {
        return results.get(new Config(mode, every)).stream().flatMap(r -> r.blockedMs().stream()).sorted().toList();
    }

    private static double median(List<Double> sorted) {
        return sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
    }

    /** One run in a JVM of its own: checkpoints every {@code every} steps and after {@code ckptSteps} (both may be off). */
    private Run train(String name, String mode, int every, String ckptSteps) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("model.n_layer", Integer.toString(nLayer));
        o.put("model.n_head", "4");
        o.put("model.n_embd", Integer.toString(nEmbd));
        o.put("data.batch_size", Integer.toString(batchSize));
        o.put("run.steps", Integer.toString(warmup + steps));
        o.put("eval.every", "0");
        o.put("eval.batches", "1");
        o.put("run.log_every", "100000");
        o.put("run.name", name);
        o.put("run.runs_dir", dir.toString());
        o.put("checkpoint.every", Integer.toString(every));
        o.put("checkpoint.steps", ckptSteps);
        o.put("checkpoint.async", Boolean.toString(mode.equals("async")));
        o.put("checkpoint.keep_last", "2");
        System.out.printf("  %-12s ...", name);
        System.out.flush();
        TrainConfig.load(null, o); // a bad option fails here, with its message, rather than in the child
        Launcher.runTrainQuietly("bench ckpt run " + name, 1, o);
        Path runDir = dir.resolve(name);
        List<Double> stepMs = MetricsLog.trainSteps(runDir.resolve("metrics.jsonl")).stream().map(j -> j.path("step_ms").asDouble()).toList();
        List<Double> timed = stepMs.subList(warmup, stepMs.size());
        double total = timed.stream().mapToDouble(Double::doubleValue).sum();
        double median = timed.stream().sorted().toList().get(timed.size() / 2);
        double fastest = timed.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        int saves = 0;
        List<Double> blocked = new ArrayList<>();
        long bytes = 0;
        double background = 0;
        Path stats = runDir.resolve("checkpoint-stats.json");
        if (every > 0 || !ckptSteps.isEmpty()) {
            try {
                JsonNode s = new ObjectMapper().readTree(stats.toFile());
                saves = s.path("saves").asInt();
                s.path("blocked_ms").forEach(x -> blocked.add(x.asDouble()));
                bytes = s.path("snapshot_bytes").asLong();
                background = s.path("background_cpu_ms").asDouble();
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
        return new Run(stepMs, total, median, fastest, saves, blocked, bytes, background);
    }
}
