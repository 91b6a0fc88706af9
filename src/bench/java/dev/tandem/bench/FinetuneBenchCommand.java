package dev.tandem.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.ckpt.HfImport;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.data.Corpus;
import dev.tandem.data.TokenDataset;
import dev.tandem.launch.Launcher;
import dev.tandem.launch.Settings;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Peqa;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;
import dev.tandem.train.config.TrainConfig;
import java.io.IOException;
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
 * {@code tandem bench finetune}: full fine-tuning against PEQA at 4 and 3 bits, from the same
 * pretrained model (the default run's, {@code runs/default/model}) on text it never trained on:
 * the tail of the bundled corpus that the default run held out for validation. Every variant
 * trains the same steps on the same batches with the same activation recompute, at every
 * learning rate of one sweep; each row is the variant at its best learning rate (lowest final
 * validation loss). Each run is a training process of its own, so its peak resident set (VmHWM,
 * from the OS) is its own, next to its resident set just before it loaded the model (the JVM's
 * share) and what the memory accounting counts (model states, activations' peak). Memory rows at
 * a larger model, built here from the seed, show the ratios where model state outweighs the JVM.
 * Full fine-tuning is the peer the PEQA rows are read against.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Full fine-tuning vs PEQA 4-bit vs PEQA 3-bit from the default run's model, each at its best learning rate of one "
                + "sweep: loss gain, parameters, memory (accounted and OS peak RSS), tok/s.")
final class FinetuneBenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec commandSpec;

    @Option(names = "--from", defaultValue = "runs/default/model", description = "Pretrained model directory (default ${DEFAULT-VALUE}: ./tandem train writes it).")
    Path from;

    @Option(names = "--text", description = "Fine-tuning text instead of the default run's held-out tail of the bundled corpus "
            + "(the last 25 % of it is the validation split).")
    Path text;

    @Option(names = "--steps", defaultValue = "60", description = "Fine-tuning steps per run (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch-size", defaultValue = "4", description = "Sequences per step (default ${DEFAULT-VALUE}: a small fine-tuning batch).")
    int batchSize;

    @Option(names = "--lrs", defaultValue = "1e-5,3e-5,1e-4,3e-4", split = ",",
            description = "Peak learning rates every variant is trained with; each row reports its best (default ${DEFAULT-VALUE}).")
    List<Double> lrs;

    @Option(names = "--recompute", defaultValue = "full",
            description = "Activation recompute of every run, parallel.recompute (default ${DEFAULT-VALUE}: what fine-tuning on a small device does).")
    String recompute;

    @Option(names = "--eval-batches", defaultValue = "8")
    int evalBatches;

    @Option(names = "--out", defaultValue = "runs/bench-finetune")
    Path out;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (0 = all cores).")
    int threads;

    @Option(names = "--large", defaultValue = "4x768x12",
            description = "Shape n_layer x n_embd x n_head of the larger model the memory rows use (default ${DEFAULT-VALUE}: GPT-2-small's width).")
    String large;

    @Option(names = "--large-steps", defaultValue = "4", description = "Steps of each larger-model run, 0 = no larger-model rows (default ${DEFAULT-VALUE}).")
    int largeSteps;

    private record Variant(String name, int bits) {}

    /**
     * One training run's result: final validation loss, the last step's accounted bytes per
     * category, the OS's peak RSS and its RSS just before the model was loaded, tok/s.
     */
    private record Run(double lr, double after, Map<String, Long> bytes, long vmHwm, long rssBeforeModel, double tokensPerSecond,
                       double seconds) {
        long bytes(String... categories) {
            long sum = 0;
            for (String c : categories) sum += bytes.getOrDefault(c, 0L);
            return sum;
        }

        long accounted() {
            return bytes.values().stream().mapToLong(Long::longValue).sum();
        }

        /** What loading and training the model added to the process's resident set: peak RSS − RSS before the model. */
        long added() {
            return vmHwm - rssBeforeModel;
        }
    }

    private record Row(Variant v, double before, long trainable, Run best, List<Run> sweep) {}

    @Override
    public void run() {
        Path base = resolve(from);
        if (!Files.isRegularFile(base.resolve(ModelFiles.CONFIG))) {
            throw new TandemException("no model in " + base + ": train the default run first (./tandem train), or pass --from DIR");
        }
        if (lrs.isEmpty() || steps < 2) throw new TandemException("--lrs needs at least one learning rate and --steps at least 2");
        TrainConfig defaults = TrainConfig.defaults();
        Path corpus = resolve(Path.of(defaults.data().corpus()));
        int nThreads = threads > 0 ? threads : Settings.of(commandSpec.root().userObject()).compute().threads();
        try {
            Files.createDirectories(out);
            // By default the text the default run held out: the last val_fraction of the corpus, which its model never trained on.
            Path heldApart = out.resolve("held-apart.txt").toAbsolutePath();
            if (text == null) {
                String all = Corpus.read(corpus).text();
                Files.writeString(heldApart, all.substring((int) (all.length() * (1 - defaults.data().valFraction()))));
            } else {
                if (!Files.isRegularFile(text)) throw new TandemException("--text " + text + ": no such file");
                heldApart = text.toAbsolutePath();
            }
            double valFraction = 0.25;
            int block = HfImport.config(base).blockSize();
            int windows = evalBatches * batchSize;
            System.out.printf(Locale.ROOT, "tandem bench finetune on %s, %d threads, Java %s, heap at most %d MiB (every run's), load %s%n",
                    BenchInfo.cpuModel(), nThreads, Runtime.version(), Runtime.getRuntime().maxMemory() >> 20, loadAverage());
            System.out.printf(Locale.ROOT, "from %s; fine-tuning text: %s (%,d bytes%s), last %.0f%% for "
                    + "validation; every run: %d steps × %d×%d tokens, recompute %s, warmup %d + cosine to lr/10, clip 1.0, no weight "
                    + "decay; learning rates %s; one process per run%n", base, heldApart, Files.size(heldApart),
                    text == null ? ", the default run's held-out tail" : "", 100 * valFraction, steps,
                    batchSize, block, recompute, warmup(), lrs);

            List<Variant> variants = List.of(new Variant("full fine-tuning", 0), new Variant("PEQA 4-bit", 4), new Variant("PEQA 3-bit", 3));
            BenchProgress progress = new BenchProgress("finetune", variants.size() * lrs.size(), System.err);
            List<Row> rows = new ArrayList<>();
            try (WorkerPool pool = new WorkerPool(nThreads);
                 TokenDataset data = TokenDataset.open(heldApart, HfImport.tokenizer(base), out.resolve("cache"), valFraction, s -> { })) {
                Kernels kernels = Kernels.fast(pool);
                for (Variant v : variants) {
                    double before;
                    long trainable;
                    try (GPT model = ModelFiles.load(base)) {
                        trainable = v.bits() > 0 ? Peqa.apply(model, v.bits()).stream().mapToLong(p -> p.numel()).sum()
                                : model.config().totalParameters();
                        before = FinetuneRuns.validationLoss(model, data, batchSize, block, windows, kernels);
                    }
                    List<Run> sweep = new ArrayList<>();
                    for (double lr : lrs) {
                        progress.next(String.format(Locale.ROOT, "%s, lr %.0e", v.name(), lr));
                        Run r = train(base, "", heldApart, valFraction, v, lr, steps, nThreads);
                        sweep.add(r);
                        System.err.printf(Locale.ROOT, "  val loss %.4f → %.4f in %.0f s, VmHWM %s%n", before, r.after(), r.seconds(), mib(r.vmHwm()));
                    }
                    Run best = sweep.stream().filter(r -> Double.isFinite(r.after())).min(java.util.Comparator.comparingDouble(Run::after))
                            .orElseThrow(() -> new TandemException(v.name() + ": every learning rate diverged"));
                    rows.add(new Row(v, before, trainable, best, sweep));
                }
                String table = table(rows) + "\n" + sweepTable(rows);
                if (largeSteps > 0) table += "\n" + largeTable(largeRows(base, heldApart, valFraction, variants, rows.getFirst().best().lr(), nThreads, progress));
                System.out.println();
                System.out.println(table);
                Files.writeString(out.resolve("finetune-bench.md"), table);
                System.out.println("wrote " + out.resolve("finetune-bench.md") + "; load now " + loadAverage());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private int warmup() {
        return Math.min(10, steps - 1);
    }

    /**
     * The memory rows: a GPT of the {@code --large} shape, initialized from the seed and saved with
     * the default run's tokenizer, fine-tuned by every variant for {@code --large-steps} steps with
     * the same batch and recompute as the rows above. Its loss means nothing (it never trained);
     * its model states outweigh the JVM, so the resident-set ratio shows what the method saves.
     */
    private List<Row> largeRows(Path base, Path corpus, double valFraction, List<Variant> variants, double lr, int nThreads,
                                BenchProgress progress) throws IOException {
        String[] lhc = large.split("x");
        if (lhc.length != 3) throw new TandemException("--large must be n_layer x n_embd x n_head, e.g. 4x768x12, not '" + large + "'");
        GPTConfig small = HfImport.config(base);
        GPTConfig config = new GPTConfig(Integer.parseInt(lhc[0]), Integer.parseInt(lhc[2]), Integer.parseInt(lhc[1]), small.vocabSize(),
                small.blockSize());
        Path dir = out.resolve("large-model").toAbsolutePath();
        System.err.printf(Locale.ROOT, "building the %s model (%,d parameters) in %s%n", large, config.totalParameters(), dir);
        try (GPT model = GPT.initialized(config, 1234)) {
            dev.tandem.io.AtomicFiles.writeDirectory(dir, tmp -> ModelFiles.save(tmp, model, base.resolve(ModelFiles.TOKENIZER)));
        }
        List<Row> rows = new ArrayList<>();
        for (Variant v : variants) {
            System.err.printf(Locale.ROOT, "  %s model, %s, lr %.0e, %d steps%n", large, v.name(), lr, largeSteps);
            Run r = train(dir, "large-", corpus, valFraction, v, lr, largeSteps, nThreads);
            long trainable = v.bits() > 0 ? (long) config.nLayer() * 9 * config.nEmbd() : config.totalParameters();
            rows.add(new Row(v, Double.NaN, trainable, r, List.of(r)));
        }
        return rows;
    }

    /** Trains one variant at one learning rate in a process of its own; reads its metrics and memory report. */
    private Run train(Path base, String prefix, Path corpus, double valFraction, Variant v, double lr, int runSteps, int nThreads)
            throws IOException {
        String name = String.format(Locale.ROOT, "%s%s-lr%.0e", prefix, v.bits() == 0 ? "full" : "peqa" + v.bits(), lr);
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model.init_from", base.toAbsolutePath().toString());
        m.put("model.peqa", Integer.toString(v.bits()));
        m.put("data.corpus", corpus.toString());
        m.put("data.val_fraction", Double.toString(valFraction));
        m.put("data.batch_size", Integer.toString(batchSize));
        m.put("parallel.recompute", recompute);
        m.put("optim.lr", Double.toString(lr));
        m.put("optim.min_lr", Double.toString(lr / 10));
        m.put("optim.warmup_steps", Integer.toString(Math.min(warmup(), runSteps - 1)));
        m.put("optim.weight_decay", "0");
        m.put("eval.every", "0");
        m.put("eval.batches", Integer.toString(evalBatches));
        m.put("run.steps", Integer.toString(runSteps));
        m.put("run.threads", Integer.toString(nThreads));
        m.put("run.name", name);
        m.put("run.runs_dir", out.toAbsolutePath().toString());
        m.put("run.tensorboard", "false");
        m.put("run.log_every", "1000");
        TrainConfig.load(null, m); // a bad option fails here, with its message, rather than in the child
        Path runDir = out.resolve(name);
        long t0 = System.nanoTime();
        Launcher.runTrainQuietly("bench finetune run " + name, 1, m);
        double seconds = (System.nanoTime() - t0) / 1e9;
        ObjectMapper json = new ObjectMapper();
        double after = Double.NaN;
        List<Double> tps = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            JsonNode n = json.readTree(line);
            if (n.path("type").asText().equals("eval")) after = n.path("val_loss").asDouble();
            if (n.path("type").asText().equals("train") && n.path("step").asInt() > Math.min(5, runSteps - 1)) tps.add(n.path("tokens_per_s").asDouble());
        }
        JsonNode mem = json.readTree(runDir.resolve("memory-rank0.json").toFile());
        Map<String, Long> bytes = new LinkedHashMap<>();
        mem.path("bytes").properties().forEach(e -> bytes.put(e.getKey(), e.getValue().asLong()));
        List<Double> sorted = tps.stream().sorted().toList();
        JsonNode os = mem.path("os");
        return new Run(lr, after, bytes, os.path("vm_hwm_bytes").asLong(), os.path("vm_rss_before_model_bytes").asLong(),
                sorted.isEmpty() ? Double.NaN : sorted.get(sorted.size() / 2), seconds);
    }

    private static String table(List<Row> rows) {
        Row full = rows.getFirst();
        double baseLoss = full.before(), fullGain = baseLoss - full.best().after();
        StringBuilder sb = new StringBuilder();
        sb.append("| variant | best lr | val loss before → after | gain vs base | share of full FT's gain | trainable params | optimizer state | "
                + "params+grads+optimizer | activations (peak) | accounted total | peak RSS (OS) | RSS before model | peak RSS − before | "
                + "tok/s (median) |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            Run b = r.best();
            double gain = baseLoss - b.after();
            sb.append(String.format(Locale.ROOT, "| %s | %.0e | %.4f → %.4f | %.4f | %.1f%% | %,d (%.2f%%) | %s | %s | %s | %s (%.2f×) | %s (%.2f×) | %s | %s (%.2f×) | %.0f |%n",
                    r.v().name(), b.lr(), r.before(), b.after(), gain, 100 * gain / fullGain, r.trainable(), 100.0 * r.trainable() / full.trainable(),
                    mib(b.bytes("optimizer_state")), mib(b.bytes("parameters", "gradients", "optimizer_state")), mib(b.bytes("activations")),
                    mib(b.accounted()), (double) b.accounted() / full.best().accounted(), mib(b.vmHwm()),
                    (double) b.vmHwm() / full.best().vmHwm(), mib(b.rssBeforeModel()), mib(b.added()), (double) b.added() / full.best().added(),
                    b.tokensPerSecond()));
        }
        return sb.toString();
    }

    /** The larger model's memory rows (no loss: the model is untrained). */
    private String largeTable(List<Row> rows) {
        Run full = rows.getFirst().best();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s model (n_layer x n_embd x n_head), %,d parameters, %d steps at lr %.0e:%n%n",
                large, rows.getFirst().trainable(), largeSteps, full.lr()));
        sb.append("| variant | trainable params | params+grads+optimizer | activations (peak) | accounted total | peak RSS (OS) | RSS before model "
                + "| peak RSS − before | tok/s (median) |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            Run b = r.best();
            sb.append(String.format(Locale.ROOT, "| %s | %,d (%.2f%%) | %s | %s | %s (%.2f×) | %s (%.2f×) | %s | %s (%.2f×) | %.0f |%n", r.v().name(),
                    r.trainable(), 100.0 * r.trainable() / rows.getFirst().trainable(), mib(b.bytes("parameters", "gradients", "optimizer_state")),
                    mib(b.bytes("activations")), mib(b.accounted()), (double) b.accounted() / full.accounted(), mib(b.vmHwm()),
                    (double) b.vmHwm() / full.vmHwm(), mib(b.rssBeforeModel()), mib(b.added()), (double) b.added() / full.added(),
                    b.tokensPerSecond()));
        }
        return sb.toString();
    }

    /** Final validation loss of every run: the sweep behind the rows above. */
    private String sweepTable(List<Row> rows) {
        StringBuilder sb = new StringBuilder("| variant |");
        lrs.forEach(lr -> sb.append(String.format(Locale.ROOT, " lr %.0e |", lr)));
        sb.append("\n|---|").append("---|".repeat(lrs.size())).append("\n");
        for (Row r : rows) {
            sb.append("| ").append(r.v().name()).append(" |");
            for (Run run : r.sweep()) sb.append(String.format(Locale.ROOT, " %.4f%s |", run.after(), run == r.best() ? " *" : ""));
            sb.append("\n");
        }
        return sb.toString();
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.2f MiB", bytes / 1048576.0);
    }

    static String loadAverage() {
        return String.format(Locale.ROOT, "%.2f", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private Path resolve(Path p) {
        if (Files.exists(p)) return p;
        String home = Settings.of(commandSpec.root().userObject()).home();
        if (home != null && Files.exists(Path.of(home).resolve(p))) return Path.of(home).resolve(p);
        return p;
    }
}
