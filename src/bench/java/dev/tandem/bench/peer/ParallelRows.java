package dev.tandem.bench.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.launch.Launcher;
import dev.tandem.train.MetricsLog;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parallel rows of {@code bench train}: the default model trained for a few steps on 1 rank,
 * on N rank processes at ZeRO stages 0–3, and under tensor and pipeline parallelism on 2 ranks,
 * each through the real launcher and trainer. For each: median step time and tokens/s after
 * warm-up, time blocked in data-parallel communication, and rank 0's bytes per memory category;
 * the data-parallel rows add the model-state reduction against stage 0 next to what the ZeRO
 * formula (fp32 AdamW, K = 8) predicts, the pipeline rows rank 0's measured bubble next to
 * (p−1)/(v·m).
 */
public final class ParallelRows {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ParallelRows() {}

    /** A plan of the model-parallel rows: its label and config keys, on {@code ranks} processes. */
    private record PlanRow(String label, int ranks, Map<String, String> keys) {}

    private static final List<PlanRow> MODEL_PARALLEL = List.of(
            new PlanRow("tp=2", 2, Map.of("parallel.tp", "2")),
            new PlanRow("tp=2 sequence parallel", 2, Map.of("parallel.tp", "2", "parallel.sequence_parallel", "true")),
            new PlanRow("pp=2 1f1b m=4", 2, Map.of("parallel.pp", "2", "parallel.micro_batches", "4")),
            new PlanRow("pp=2 interleaved v=2 m=4", 2, Map.of("parallel.pp", "2", "parallel.micro_batches", "4",
                    "parallel.schedule", "interleaved", "parallel.virtual_stages", "2")));

    private record Row(int ranks, int stage, double stepMs, double tokensPerSecond, double commWaitMs,
                       long params, long grads, long optim, long activations, long comm, String bubble) {
        long modelState() {
            return params + grads + optim;
        }
    }

    public static void run(PrintStream out, int steps, List<Integer> rankCounts, Path runs) {
        out.printf("%ndata parallel (default model, %d steps, median after %d warm-up; bytes of rank 0):%n", steps, steps / 3);
        out.printf("%5s %4s | %8s %8s %9s | %9s %9s %9s %9s %9s | %9s %9s%n", "ranks", "ZeRO", "ms/step", "tok/s", "comm-wait",
                "params", "grads", "optim", "act peak", "comm peak", "state ×", "formula ×");
        Row base = null;
        for (int n : rankCounts) {
            for (int stage = 0; stage <= 3; stage++) {
                if (n == 1 && stage > 0) continue; // one rank: every stage is the same
                Row r = measure("bench-dp-n" + n + "-z" + stage, n,
                        Map.of("parallel.dp", Integer.toString(n), "parallel.zero", Integer.toString(stage)), steps, runs);
                if (base == null) base = r;
                double measured = (double) base.modelState() / r.modelState();
                out.printf("%5d %4d | %8.0f %8.0f %9.1f | %9s %9s %9s %9s %9s | %8.2fx %8.2fx%n", n, stage, r.stepMs(),
                        r.tokensPerSecond(), r.commWaitMs(), mib(r.params()), mib(r.grads()), mib(r.optim()),
                        mib(r.activations()), mib(r.comm()), measured, formulaReduction(stage, n));
            }
        }
    }

    /** The tensor- and pipeline-parallel rows, each against one rank of the same model. */
    public static void runModelParallel(PrintStream out, int steps, Path runs) {
        out.printf("%nmodel parallel (default model, %d steps, median after %d warm-up; bytes of rank 0):%n", steps, steps / 3);
        out.printf("%-26s %5s | %8s %8s %9s | %9s %9s %9s | %s%n", "plan", "ranks", "ms/step", "tok/s", "vs 1 rank", "params",
                "optim", "act peak", "pipeline bubble of rank 0 (measured / formula)");
        Row one = measure("bench-mp-1", 1, Map.of(), steps, runs);
        out.printf("%-26s %5d | %8.0f %8.0f %9s | %9s %9s %9s |%n", "1 rank", 1, one.stepMs(), one.tokensPerSecond(), "1.00x",
                mib(one.params()), mib(one.optim()), mib(one.activations()));
        for (PlanRow p : MODEL_PARALLEL) {
            Row r = measure("bench-mp-" + p.label().replaceAll("[^A-Za-z0-9]+", "-"), p.ranks(), p.keys(), steps, runs);
            out.printf("%-26s %5d | %8.0f %8.0f %8.2fx | %9s %9s %9s | %s%n", p.label(), p.ranks(), r.stepMs(), r.tokensPerSecond(),
                    r.tokensPerSecond() / one.tokensPerSecond(), mib(r.params()), mib(r.optim()), mib(r.activations()), r.bubble());
        }
    }

    /** 16Ψ divided by the per-rank model state of the stage (padding ignored). */
    static double formulaReduction(int stage, int n) {
        double perRank = switch (stage) {
            case 0 -> 16;
            case 1 -> 8 + 8.0 / n;
            case 2 -> 4 + 12.0 / n;
            default -> 16.0 / n;
        };
        return 16 / perRank;
    }

    private static String mib(long bytes) {
        return String.format("%.2f MiB", bytes / 1048576.0);
    }

    /** A run of the default model with the plan {@code keys} (which make {@code n} ranks). */
    private static Row measure(String name, int n, Map<String, String> keys, int steps, Path runs) {
        Map<String, String> cfg = new LinkedHashMap<>();
        cfg.put("run.steps", Integer.toString(steps));
        cfg.put("eval.every", "0");
        cfg.put("eval.batches", "1");
        cfg.put("run.log_every", Integer.toString(steps));
        cfg.put("run.name", name);
        cfg.put("run.runs_dir", runs.toString());
        cfg.putAll(keys);
        if (TrainConfig.load(null, cfg).parallel().worldSize() != n) throw new IllegalStateException(name + ": the plan is not " + n + " ranks");
        String log;
        if (n == 1) {
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            Trainer.runSingle(TrainConfig.load(null, cfg), new PrintStream(captured), false);
            log = captured.toString();
        } else {
            log = Launcher.runTrainQuietly(name, n, cfg);
        }
        try {
            Path dir = runs.resolve(name);
            List<JsonNode> train = MetricsLog.trainSteps(dir.resolve("metrics.jsonl"));
            List<JsonNode> warm = train.subList(steps / 3, train.size());
            JsonNode mem = JSON.readTree(dir.resolve("memory-rank0.json").toFile()).get("bytes");
            String bubble = log.lines().filter(l -> l.contains("pipeline bubble")).findFirst()
                    .map(l -> l.replaceAll(".*median ([0-9.]+) over.*formula \\(p-1\\)/\\(v·m\\) ([0-9.]+);.*", "$1 / $2")).orElse("");
            return new Row(n, Integer.parseInt(cfg.getOrDefault("parallel.zero", "0")), median(warm, "step_ms"), median(warm, "tokens_per_s"), median(warm, "comm_wait_ms"),
                    mem.get("parameters").asLong(), mem.get("gradients").asLong(), mem.get("optimizer_state").asLong(),
                    mem.get("activations").asLong(), mem.get("communication").asLong(), bubble);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static double median(List<JsonNode> rows, String field) {
        double[] v = rows.stream().mapToDouble(j -> j.get(field).asDouble()).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
