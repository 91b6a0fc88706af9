package dev.tandem.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.launch.Launcher;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.MoEConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench moe}: an MoE model trained on rank processes under expert parallelism and
 * FSSDP, beside dense data parallelism at equal active parameters (top-1 routing: a token runs one
 * expert, the dense model's one MLP), with the router balanced (as initialised) and skewed (a
 * zipf-like prior). Every run is the trainer itself ({@code tandem train} on the ranks); the
 * numbers come from its metrics log and per-rank memory reports: median step time and tokens/s
 * over the timed steps (tokens/s at that median), expert bytes each rank sent per step (measured), the data-parallel
 * gradient all-reduce per rank (ring formula 2(P−1)/P × gradient bytes, the same collective in
 * every plan), peak memory per rank by category (the largest rank), and the busiest rank's expert
 * rows over the mean. The router is dropless, so a hot expert's rows all land on its holders; the
 * learning rate is 1e-5, so that routing stays stable from step to step (what a load estimate needs).
 */
@Command(name = "moe", mixinStandardHelpOptions = true,
        description = "MoE training on rank processes: expert parallelism vs FSSDP vs dense data parallelism, balanced and skewed routing.")
final class MoeBenchCommand implements Runnable {
    @Option(names = "--ranks", defaultValue = "4", description = "Rank processes (default: ${DEFAULT-VALUE}).")
    int ranks;

    @Option(names = "--steps", defaultValue = "8", description = "Timed steps per run (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed steps at the start of each run (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--experts", defaultValue = "8")
    int experts;

    @Option(names = "--n-layer", defaultValue = "4")
    int nLayer;

    @Option(names = "--n-embd", defaultValue = "192")
    int nEmbd;

    @Option(names = "--batch-size", defaultValue = "16")
    int batchSize;

    @Option(names = "--skew", defaultValue = "0.3", description = "router_skew of the skewed runs (default: ${DEFAULT-VALUE}).")
    double skew;

    @Option(names = "--dir", defaultValue = "runs/bench-moe", description = "Where the runs go (default: ${DEFAULT-VALUE}).")
    Path dir;

    private static final ObjectMapper JSON = new ObjectMapper();

    private record Result(String plan, String routing, double stepMs, double tokensPerSec, double expertBytes, double allReduceBytes,
                          double rankLoad, Map<String, Long> peakBytes) {}

    @Override
    public void run() {
        if (experts % ranks != 0) throw new TandemException("--experts " + experts + " must be divisible by --ranks " + ranks);
        List<String[]> cases = List.of(new String[] {"dense DP", "balanced"}, new String[] {"EP", "balanced"},
                new String[] {"FSSDP", "balanced"}, new String[] {"EP", "skewed"}, new String[] {"FSSDP", "skewed"});
        BenchProgress progress = new BenchProgress("moe", cases.size(), System.err);
        System.out.printf(Locale.ROOT, "tandem bench moe: %d rank processes on %s, %d cores; GPT n_layer %d, n_embd %d, experts %d in every "
                        + "2nd block, top-1, dropless; batch %d × 128 tokens; %d warm-up + %d timed steps; skewed = router_skew %.2f%n",
                ranks, BenchInfo.cpuModel(), Runtime.getRuntime().availableProcessors(), nLayer, nEmbd, experts, batchSize, warmup, steps, skew);
        List<Result> results = new ArrayList<>();
        for (String[] c : cases) {
            progress.next(c[0] + ", " + c[1] + " routing");
            results.add(runCase(c[0], c[1]));
        }
        System.out.println();
        System.out.println("| plan | routing | step ms | tokens/s | expert bytes/rank/step | grad all-reduce bytes/rank/step | busiest rank / mean "
                + "| peak MiB/rank: params, grads, optimizer, activations |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|---|");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "| %s | %s | %.0f | %.0f | %s | %s | %.2f | %.1f, %.1f, %.1f, %.1f |%n", r.plan, r.routing, r.stepMs,
                    r.tokensPerSec, mib(r.expertBytes), mib(r.allReduceBytes), r.rankLoad, r.peakBytes.get("parameters") / 1048576.0,
                    r.peakBytes.get("gradients") / 1048576.0, r.peakBytes.get("optimizer_state") / 1048576.0,
                    r.peakBytes.get("activations") / 1048576.0);
        }
        long expertBytes = (long) experts * mlpParams() * model(true, 0).moe().moeLayers(nLayer) * 4;
        System.out.printf(Locale.ROOT, "expert parameters: %.2f MiB in all, %.2f MiB per rank under EP and FSSDP (1/%d; no padding: %d experts "
                + "divide evenly); dense DP holds one MLP per block on every rank%n", expertBytes / 1048576.0, expertBytes / 1048576.0 / ranks,
                ranks, experts);
    }

    private long mlpParams() {
        long c = nEmbd;
        return c * 4 * c + 4 * c + 4 * c * c + c;
    }

    private GPTConfig model(boolean sparse, double routerSkew) {
        GPTConfig dense = new GPTConfig(nLayer, 4, nEmbd, 2048, 128);
        return sparse ? dense.withMoe(new MoEConfig(experts, 1, 1.25, true, 2, 0.01, 0.001, routerSkew)) : dense;
    }

    private static String mib(double bytes) {
        return String.format(Locale.ROOT, "%.2f MiB", bytes / 1048576.0);
    }

    private Result runCase(String plan, String routing) {
        String name = (plan.replace(' ', '-') + "-" + routing).toLowerCase(Locale.ROOT);
        Map<String, String> o = new LinkedHashMap<>();
        o.put("model.n_layer", Integer.toString(nLayer));
        o.put("model.n_embd", Integer.toString(nEmbd));
        o.put("data.batch_size", Integer.toString(batchSize));
        o.put("parallel.dp", Integer.toString(ranks));
        boolean sparse = !plan.equals("dense DP");
        if (sparse) {
            o.put("model.n_experts", Integer.toString(experts));
            o.put("model.top_k", "1");
            o.put("model.dropless", "true");
            o.put("model.moe_every", "2");
            o.put("model.router_skew", routing.equals("skewed") ? Double.toString(skew) : "0");
            o.put("parallel.ep", Integer.toString(ranks));
            o.put("parallel.moe", plan.equals("FSSDP") ? "fssdp" : "ep");
        }
        o.put("run.steps", Integer.toString(warmup + steps));
        o.put("optim.warmup_steps", "1");
        // A tiny learning rate keeps the routing what the initialisation and the prior make it: at the
        // default 2e-3 this small top-1 router collapses onto other experts every step, and no load
        // estimate from the last step (FSSDP's placement) holds.
        o.put("optim.lr", "1e-5");
        o.put("optim.min_lr", "1e-6");
        o.put("eval.every", "0");
        o.put("eval.batches", "1");
        o.put("run.log_every", "1000");
        o.put("run.tensorboard", "false");
        o.put("run.name", name);
        o.put("run.runs_dir", dir.toString());
        Launcher.runTrainQuietly("bench moe " + name, ranks, o);
        Path run = dir.resolve(name);
        try {
            List<Double> ms = new ArrayList<>(), bytes = new ArrayList<>(), load = new ArrayList<>();
            for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
                JsonNode n = JSON.readTree(line);
                if (!n.path("type").asText().equals("train") || n.path("step").asInt() <= warmup) continue;
                ms.add(n.path("step_ms").asDouble());
                bytes.add(n.path("router").path("expert_bytes_sent_per_rank").asDouble(0));
                load.add(n.path("router").path("rank_load_max_over_mean").asDouble(1));
            }
            Map<String, Long> peak = new LinkedHashMap<>();
            for (int r = 0; r < ranks; r++) {
                JsonNode b = JSON.readTree(run.resolve("memory-rank" + r + ".json").toFile()).path("bytes");
                for (String k : List.of("parameters", "gradients", "optimizer_state", "activations")) peak.merge(k, b.path(k).asLong(), Math::max);
            }
            GPTConfig m = model(sparse, 0);
            long replicated = sparse ? m.totalParameters() - (long) experts * mlpParams() * m.moe().moeLayers(nLayer) : m.totalParameters();
            double allReduce = 2.0 * (ranks - 1) / ranks * replicated * 4;
            double tokensPerSec = (double) batchSize * 128 / (median(ms) / 1e3); // at the median step time
            return new Result(plan, routing, median(ms), tokensPerSec, median(bytes), allReduce, median(load), peak);
        } catch (IOException e) {
            throw new TandemException("cannot read the results of " + run + ": " + e.getMessage(), e);
        }
    }

    private static double median(List<Double> xs) {
        List<Double> s = xs.stream().sorted().toList();
        return s.isEmpty() ? Double.NaN : s.get(s.size() / 2);
    }
}
