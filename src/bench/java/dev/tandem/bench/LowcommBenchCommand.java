package dev.tandem.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.launch.Launcher;
import dev.tandem.plan.IslandLink;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
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
 * {@code tandem bench lowcomm}: low-communication training against synchronous data parallelism,
 * ranks as processes, islands joined by a throttled link (100 Mbit/s and 10 ms by default). Every
 * row trains the same model on the same batches for the same steps (equal token budget): sync
 * (gradients averaged across islands every step, through the same slow link), DiLoCo and NoLoCo at
 * several H. Columns: final validation loss (the mean over the islands' own models; DiLoCo's after
 * its last outer step, when they are one model), bytes rank 0 sent across islands, and training wall
 * time (the sum of the steps' times, without start-up and evaluation). Sync is the peer of this
 * benchmark. As in the DiLoCo paper, every row starts from the same model pretrained synchronously
 * ({@code --pretrain-steps}; its steps, bytes and time are in no row).
 */
@Command(name = "lowcomm", mixinStandardHelpOptions = true,
        description = "DiLoCo and NoLoCo vs synchronous data parallelism across islands on a slow link: loss, bytes, wall time.")
final class LowcommBenchCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--ranks", defaultValue = "4", description = "Rank processes (default ${DEFAULT-VALUE}).")
    int ranks;

    @Option(names = "--islands", defaultValue = "2", description = "Islands the ranks form: 2 or 4 (default ${DEFAULT-VALUE}).")
    int islands;

    @Option(names = "--h", split = ",", defaultValue = "10,50,100", description = "Inner steps between outer steps (default ${DEFAULT-VALUE}).")
    List<Integer> hs;

    @Option(names = "--steps", defaultValue = "1000", description = "Steps per run (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch-size", defaultValue = "16", description = "Global batch in sequences (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--model", defaultValue = "2,2,32,32", description = "n_layer,n_head,n_embd,block_size (default ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--lr", defaultValue = "5e-3", description = "Inner AdamW learning rate of every row and the pretraining (default ${DEFAULT-VALUE}; the sweep: docs/notes/lowcomm-tuning.md).")
    String lr;

    @Option(names = "--outer-lr", defaultValue = "0.7", description = "DiLoCo's outer learning rate (default ${DEFAULT-VALUE}, the paper's).")
    String outerLr;

    @Option(names = "--outer-momentum", defaultValue = "0.9", description = "DiLoCo's outer Nesterov momentum (default ${DEFAULT-VALUE}, the paper's).")
    String outerMomentum;

    @Option(names = "--link-bandwidth", defaultValue = "100Mbit", description = "Link between islands (default ${DEFAULT-VALUE}).")
    String bandwidth;

    @Option(names = "--link-latency", defaultValue = "10ms", description = "Latency of the link (default ${DEFAULT-VALUE}).")
    String latency;

    @Option(names = "--eval-every", defaultValue = "100", description = "Steps between evaluations (default ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(names = "--pretrain-steps", defaultValue = "500",
            description = "Steps of synchronous data parallelism that give every row its starting model, as the DiLoCo paper starts "
                    + "from a pretrained model; not counted in any row (0: every row starts from the seed's fresh model; default "
                    + "${DEFAULT-VALUE}).")
    int pretrainSteps;

    @Option(names = "--out", defaultValue = "runs/bench-lowcomm")
    Path out;

    /** One row: what ran and what it measured. */
    record Row(String name, double valLoss, long crossIslandBytes, double wallSeconds, double warmWallSeconds, List<double[]> curve) {}

    /** Steps left out of the warm column: JVM start-up and JIT warm-up, the same work in every row but seconds of noise under load. */
    private static final int WARMUP_STEPS = 10;

    @Override
    public void run() {
        if (islands != 2 && islands != 4) throw new TandemException("--islands must be 2 or 4");
        if (pretrainSteps < 0) throw new TandemException("--pretrain-steps must be >= 0 (0: no pretraining), not " + pretrainSteps);
        if (ranks % islands != 0) throw new TandemException("--ranks " + ranks + " must be a multiple of --islands " + islands);
        String[] m = model.split(",");
        if (m.length != 4) throw new TandemException("--model needs n_layer,n_head,n_embd,block_size");
        IslandLink.parseBandwidth(bandwidth);
        IslandLink.parseLatency(latency);
        PrintStream console = System.out;
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("sync DP", "outer=sync");
        for (int h : hs) rows.put("DiLoCo H=" + h, "outer=diloco outer_steps=" + h + " outer_lr=" + outerLr + " outer_momentum=" + outerMomentum);
        for (int h : hs) rows.put("NoLoCo H=" + h, "outer=noloco outer_steps=" + h);
        int block = Integer.parseInt(m[3].trim());
        String header = String.format(Locale.ROOT, "tandem bench lowcomm on %s (%d cores), Java %s%n%d rank processes as %d islands of "
                        + "dp=%d, link between islands %s/s + %s per message; model n_layer %s n_head %s n_embd %s block %d; %d steps × %d "
                        + "sequences = %,d tokens per row; AdamW lr %s, warmup %d, cosine; DiLoCo outer lr %s, Nesterov momentum %s; "
                        + "NoLoCo α 0.7, β 0.5; %s",
                BenchInfo.cpuModel(), Runtime.getRuntime().availableProcessors(), Runtime.version(), ranks, islands, ranks / islands,
                bandwidth, latency, m[0].trim(), m[1].trim(), m[2].trim(), block, steps, batchSize, (long) steps * batchSize * block, lr,
                Math.max(1, steps / 20), outerLr, outerMomentum,
                pretrainSteps == 0 ? "every row from the seed's fresh model"
                        : String.format(Locale.ROOT, "every row from one model pretrained by sync DP for %d steps (%,d tokens, in no row)",
                        pretrainSteps, (long) pretrainSteps * batchSize * block));
        console.println(header);
        try {
            Files.createDirectories(out);
            BenchProgress progress = new BenchProgress("lowcomm", rows.size() + (pretrainSteps > 0 ? 1 : 0), System.err);
            Path start = null;
            if (pretrainSteps > 0) {
                progress.next("pretraining (sync DP, " + pretrainSteps + " steps)");
                start = pretrain(m, block);
            }
            List<Row> results = new ArrayList<>();
            for (Map.Entry<String, String> r : rows.entrySet()) {
                progress.next(r.getKey());
                results.add(runRow(r.getKey(), r.getValue(), m, block, start));
                Row last = results.getLast();
                System.err.printf(Locale.ROOT, "  val loss %.4f, %,d bytes across islands, %.1f s%n", last.valLoss(), last.crossIslandBytes(),
                        last.wallSeconds());
            }
            String table = table(results);
            console.println();
            console.println(table);
            Files.writeString(out.resolve("lowcomm-bench.md"), header + "\n\n" + table);
            plot(results, 0, "tokens", out.resolve("lowcomm-loss-vs-tokens.png"));
            plot(results, 1, "training wall time (s)", out.resolve("lowcomm-loss-vs-wall.png"));
            console.println("wrote " + out.resolve("lowcomm-bench.md") + ", lowcomm-loss-vs-tokens.png and lowcomm-loss-vs-wall.png");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The shared starting model: {@code pretrainSteps} steps of synchronous data parallelism on an
     * unthrottled link (its time and bytes belong to no row), written as the run's model directory.
     */
    private Path pretrain(String[] m, int block) {
        Map<String, String> c = config("pretrain", pretrainSteps, m, block);
        c.put("parallel.plan", "dp=" + ranks / islands + " islands=" + islands + " outer=sync");
        Launcher.runTrainQuietly("pretraining", ranks, c);
        return out.resolve("pretrain").resolve("model").toAbsolutePath();
    }

    /** What every run shares: model, data, batch, inner optimizer (warm-up 5 % of the steps, cosine), evaluation. */
    private Map<String, String> config(String runName, int runSteps, String[] m, int block) {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("model.n_layer", m[0].trim());
        c.put("model.n_head", m[1].trim());
        c.put("model.n_embd", m[2].trim());
        c.put("model.block_size", Integer.toString(block));
        c.put("data.batch_size", Integer.toString(batchSize));
        c.put("optim.lr", lr);
        c.put("optim.warmup_steps", Integer.toString(Math.max(1, runSteps / 20)));
        c.put("run.steps", Integer.toString(runSteps));
        c.put("eval.every", Integer.toString(evalEvery));
        c.put("eval.batches", "4");
        c.put("run.log_every", "1000");
        c.put("run.tensorboard", "false");
        c.put("run.threads", "1");
        c.put("run.name", runName);
        c.put("run.runs_dir", out.toString());
        return c;
    }

    private Row runRow(String name, String outer, String[] m, int block, Path start) throws IOException {
        String runName = name.replace(' ', '-').replace('=', '-').toLowerCase(Locale.ROOT);
        Map<String, String> c = config(runName, steps, m, block);
        if (start != null) c.put("model.init_from", start.toString());
        c.put("parallel.plan", "dp=" + ranks / islands + " islands=" + islands + " " + outer + " link_bandwidth=" + bandwidth
                + " link_latency=" + latency);
        Launcher.runTrainQuietly(name, ranks, c);
        double wall = 0, warmWall = 0, valLoss = Double.NaN;
        long bytes = 0, tokensPerStep = (long) batchSize * block;
        List<double[]> curve = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve(runName).resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("train")) {
                wall += n.get("step_ms").asDouble() / 1e3;
                if (n.get("step").asLong() > WARMUP_STEPS) warmWall += n.get("step_ms").asDouble() / 1e3;
                bytes += n.get("cross_island_bytes").asLong();
            } else if (n.get("type").asText().equals("eval")) {
                valLoss = n.get("val_loss").asDouble();
                curve.add(new double[] {n.get("step").asLong() * tokensPerStep, wall, valLoss});
            }
        }
        return new Row(name, valLoss, bytes, wall, warmWall, curve);
    }

    private static String table(List<Row> rows) {
        Row sync = rows.getFirst();
        StringBuilder t = new StringBuilder("| run | final val loss | vs sync | bytes across islands (rank 0) | fewer bytes than sync | "
                + "training wall time | faster than sync | wall time after step " + WARMUP_STEPS + " | faster than sync |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            t.append(String.format(Locale.ROOT, "| %s | %.4f | %+.2f%% | %,d | %s | %.1f s | %.2f× | %.1f s | %.2f× |%n", r.name(), r.valLoss(),
                    100 * (r.valLoss() / sync.valLoss() - 1), r.crossIslandBytes(),
                    r.crossIslandBytes() == 0 ? "∞" : String.format(Locale.ROOT, "%.0f×", (double) sync.crossIslandBytes() / r.crossIslandBytes()),
                    r.wallSeconds(), sync.wallSeconds() / r.wallSeconds(), r.warmWallSeconds(), sync.warmWallSeconds() / r.warmWallSeconds()));
        }
        return t.toString();
    }

    /** Validation loss against tokens ({@code x} = 0) or wall time ({@code x} = 1), one curve per row. */
    private static void plot(List<Row> rows, int x, String xLabel, Path file) throws IOException {
        List<CurvePlot.Series> series = new ArrayList<>();
        for (Row r : rows) {
            series.add(new CurvePlot.Series(r.name(), r.curve().stream().mapToDouble(p -> p[x]).toArray(),
                    r.curve().stream().mapToDouble(p -> p[2]).toArray()));
        }
        CurvePlot.write(file, "Low-communication training: validation loss vs " + xLabel, xLabel, "val loss (nats)", series);
    }
}
