package dev.tandem.bench;

import dev.tandem.TandemException;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.launch.Settings;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;
import dev.tandem.train.Generator;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench parscale}: the parallel scaling law at our scale. The same GPT (the same
 * weights' shapes, so about the same parameters) trains from scratch with P = 1, 2 and 4 ParScale
 * streams on the same batches for the same number of training tokens; the table gives the final
 * validation loss, the parameters, training tokens/s, and what a generated token costs: forward
 * FLOPs and measured milliseconds of KV-cached decoding. P = 1, plain GPT-2, is the peer.
 */
@Command(name = "parscale", mixinStandardHelpOptions = true,
        description = "ParScale P = 1, 2, 4 at equal training tokens: validation loss, parameters, inference cost per token.")
final class ParScaleBenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec commandSpec;

    @Option(names = "--streams", split = ",", defaultValue = "1,2,4", description = "Values of P (default ${DEFAULT-VALUE}).")
    List<Integer> streams;

    @Option(names = "--steps", defaultValue = "100", description = "Training steps of each run (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--model", defaultValue = "2,4,128,64", description = "n_layer,n_head,n_embd,block_size (default ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--prefix", defaultValue = "16", description = "Prefix tokens per stream and layer (default ${DEFAULT-VALUE}; the paper's 48 is for 2K+ contexts).")
    int prefix;

    @Option(names = "--batch-size", defaultValue = "8")
    int batchSize;

    @Option(names = "--lr", defaultValue = "2e-3")
    double lr;

    @Option(names = "--eval-batches", defaultValue = "8")
    int evalBatches;

    @Option(names = "--decode-tokens", defaultValue = "48", description = "Tokens decoded to time inference (default ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--out", defaultValue = "runs/bench-parscale")
    Path out;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (0 = all cores).")
    int threads;

    private record Row(int p, long params, double valLoss, double tokensPerSecond, double forwardFlopsPerToken, double decodeMs,
                       double seconds) {}

    @Override
    public void run() {
        String[] m = model.split(",");
        if (m.length != 4) throw new TandemException("--model needs n_layer,n_head,n_embd,block_size");
        int nThreads = threads > 0 ? threads : Settings.of(commandSpec.root().userObject()).compute().threads();
        TrainConfig defaults = TrainConfig.defaults();
        try {
            Files.createDirectories(out);
            System.out.printf(Locale.ROOT, "tandem bench parscale on %s, %d threads, Java %s, load %s%n", BenchInfo.cpuModel(), nThreads,
                    Runtime.version(), FinetuneBenchCommand.loadAverage());
            System.out.printf(Locale.ROOT, "GPT n_layer %s, n_head %s, n_embd %s, block %s on %s; every P: %d steps × %d×%s tokens "
                    + "(equal training tokens), lr %.0e, warmup 10%% + cosine; prefix %d per stream and layer; ε = 0.01%n",
                    m[0].trim(), m[1].trim(), m[2].trim(), m[3].trim(), defaults.data().corpus(), steps, batchSize, m[3].trim(), lr, prefix);
            BenchProgress progress = new BenchProgress("parscale", streams.size() + 1, System.err);
            progress.next("warm-up (JIT), 5 steps");
            FinetuneRuns.train(config(m, streams.getLast(), 5, "warmup"), nThreads);
            List<Row> rows = new ArrayList<>();
            try (WorkerPool pool = new WorkerPool(nThreads)) {
                Kernels kernels = Kernels.fast(pool);
                for (int p : streams) {
                    progress.next("P = " + p);
                    long t0 = System.nanoTime();
                    Trainer.Result r = FinetuneRuns.train(config(m, p, steps, "p" + p), nThreads);
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    try (GPT trained = ModelFiles.load(r.modelDir())) {
                        GPTConfig c = trained.config();
                        double forward = c.trainingFlopsPerToken(c.blockSize()) / 3;
                        rows.add(new Row(p, c.totalParameters(), r.lastEval().loss(), FinetuneRuns.medianTokensPerSecond(r.steps(), 5), forward,
                                decodeMillisPerToken(trained, kernels), seconds));
                    }
                    System.err.printf(Locale.ROOT, "  val loss %.4f in %.0f s%n", rows.getLast().valLoss(), seconds);
                }
            }
            String table = table(rows);
            System.out.println();
            System.out.println(table);
            Files.writeString(out.resolve("parscale-bench.md"), table);
            System.out.println("wrote " + out.resolve("parscale-bench.md"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Median over three passes of the milliseconds per token of KV-cached decoding of {@code decodeTokens} tokens. */
    private double decodeMillisPerToken(GPT model, Kernels kernels) {
        int n = Math.min(decodeTokens, model.config().blockSize());
        double[] ms = new double[3];
        for (int rep = 0; rep < ms.length; rep++) {
            Generator g = new Generator(model, kernels);
            long t0 = System.nanoTime();
            int token = 0;
            for (int i = 0; i < n; i++) {
                float[] logits = g.feed(token);
                token = argmax(logits);
            }
            ms[rep] = (System.nanoTime() - t0) / 1e6 / n;
        }
        Arrays.sort(ms);
        return ms[1];
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private Map<String, String> config(String[] m, int p, int runSteps, String name) {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("model.n_layer", m[0].trim());
        c.put("model.n_head", m[1].trim());
        c.put("model.n_embd", m[2].trim());
        c.put("model.block_size", m[3].trim());
        c.put("model.parscale", Integer.toString(p));
        c.put("model.parscale_prefix", Integer.toString(prefix));
        c.put("data.batch_size", Integer.toString(batchSize));
        c.put("optim.lr", Double.toString(lr));
        c.put("optim.min_lr", Double.toString(lr / 10));
        c.put("optim.warmup_steps", Integer.toString(Math.max(1, Math.min(runSteps / 10, runSteps - 1))));
        c.put("eval.every", "0");
        c.put("eval.batches", Integer.toString(evalBatches));
        c.put("run.steps", Integer.toString(runSteps));
        c.put("run.name", name);
        c.put("run.runs_dir", out.toString());
        c.put("run.tensorboard", "false");
        c.put("run.log_every", "1000");
        return c;
    }

    private static String table(List<Row> rows) {
        Row one = rows.getFirst();
        StringBuilder sb = new StringBuilder();
        sb.append("| P | parameters | val loss | Δ vs P=1 | train tok/s (median) | forward MFLOP/token | decode ms/token (KV cache) | train wall |\n");
        sb.append("|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %d | %,d (%+.1f%%) | %.4f | %+.4f | %.0f | %.2f (%.2f×) | %.2f (%.2f×) | %.0f s |%n", r.p(), r.params(),
                    100.0 * (r.params() - one.params()) / one.params(), r.valLoss(), r.valLoss() - one.valLoss(), r.tokensPerSecond(),
                    r.forwardFlopsPerToken() / 1e6, r.forwardFlopsPerToken() / one.forwardFlopsPerToken(), r.decodeMs(),
                    r.decodeMs() / one.decodeMs(), r.seconds()));
        }
        return sb.toString();
    }
}
