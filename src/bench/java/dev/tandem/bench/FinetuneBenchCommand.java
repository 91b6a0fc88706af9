package dev.tandem.bench;

import dev.tandem.TandemException;
import dev.tandem.ckpt.HfImport;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.data.Corpus;
import dev.tandem.data.TokenDataset;
import dev.tandem.launch.Settings;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Peqa;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.WorkerPool;
import dev.tandem.train.StepMetrics;
import dev.tandem.train.Trainer;
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
 * the tail of the bundled corpus that the default run held out for validation. Each variant trains
 * the same steps on the same batches; the table gives validation loss before and after, the gain
 * and its share of full fine-tuning's, trainable parameters, optimizer-state bytes, the memory the
 * accounting counts (model states, activations' peak) and tokens/s. Full fine-tuning is the
 * peer the PEQA rows are read against.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Full fine-tuning vs PEQA 4-bit vs PEQA 3-bit from the default run's model: loss gain, parameters, memory, tok/s.")
final class FinetuneBenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec commandSpec;

    @Option(names = "--from", defaultValue = "runs/default/model", description = "Pretrained model directory (default ${DEFAULT-VALUE}: ./tandem train writes it).")
    Path from;

    @Option(names = "--steps", defaultValue = "60", description = "Fine-tuning steps per variant (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch-size", defaultValue = "8")
    int batchSize;

    @Option(names = "--lr", defaultValue = "3e-4", description = "Peak learning rate of full fine-tuning (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--peqa-lr", defaultValue = "1e-3",
            description = "Peak learning rate of the PEQA scales (default ${DEFAULT-VALUE}, the better of 1e-3 and 3e-3 measured).")
    double peqaLr;

    @Option(names = "--eval-batches", defaultValue = "8")
    int evalBatches;

    @Option(names = "--out", defaultValue = "runs/bench-finetune")
    Path out;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (0 = all cores).")
    int threads;

    private record Variant(String name, int bits, double lr) {}

    private record Row(Variant v, double before, double after, long trainable, long optimizerBytes, long modelStateBytes,
                       long activationBytes, long residentBytes, double tokensPerSecond, double seconds) {}

    @Override
    public void run() {
        Path base = resolve(from);
        if (!Files.isRegularFile(base.resolve(ModelFiles.CONFIG))) {
            throw new TandemException("no model in " + base + ": train the default run first (./tandem train), or pass --from DIR");
        }
        TrainConfig defaults = TrainConfig.defaults();
        Path corpus = resolve(Path.of(defaults.data().corpus()));
        int nThreads = threads > 0 ? threads : Settings.of(commandSpec.root().userObject()).compute().threads();
        try {
            Files.createDirectories(out);
            // The text the default run held out: the last val_fraction of the corpus, which its model never trained on.
            String text = Corpus.read(corpus).text();
            Path heldApart = out.resolve("held-apart.txt");
            Files.writeString(heldApart, text.substring((int) (text.length() * (1 - defaults.data().valFraction()))));
            double valFraction = 0.25;
            int block = HfImport.config(base).blockSize();
            int windows = evalBatches * batchSize;
            System.out.printf(Locale.ROOT, "tandem bench finetune on %s, %d threads, Java %s, load %s%n", BenchInfo.cpuModel(), nThreads,
                    Runtime.version(), loadAverage());
            System.out.printf(Locale.ROOT, "from %s; fine-tuning text: %s (%,d chars, the default run's held-out tail), last %.0f%% for "
                    + "validation; %d steps × %d×%d tokens; warmup 10 + cosine to lr/10; clip 1.0; no weight decay%n",
                    base, heldApart, Files.size(heldApart), 100 * valFraction, steps, batchSize, block);

            List<Variant> variants = List.of(new Variant("full fine-tuning", 0, lr), new Variant("PEQA 4-bit", 4, peqaLr),
                    new Variant("PEQA 3-bit", 3, peqaLr));
            BenchProgress progress = new BenchProgress("finetune", variants.size() + 1, System.err);
            progress.next("warm-up (JIT), 5 steps");
            FinetuneRuns.train(config(base, heldApart, valFraction, variants.get(1), 5, "warmup"), nThreads);
            List<Row> rows = new ArrayList<>();
            try (WorkerPool pool = new WorkerPool(nThreads);
                 TokenDataset data = TokenDataset.open(heldApart, HfImport.tokenizer(base), out.resolve("cache"), valFraction, s -> { })) {
                Kernels kernels = Kernels.fast(pool);
                for (Variant v : variants) {
                    progress.next(v.name());
                    double before;
                    try (GPT model = ModelFiles.load(base)) {
                        if (v.bits() > 0) Peqa.apply(model, v.bits());
                        before = FinetuneRuns.validationLoss(model, data, batchSize, block, windows, kernels);
                    }
                    long t0 = System.nanoTime();
                    Trainer.Result r = FinetuneRuns.train(config(base, heldApart, valFraction, v, steps, slug(v)), nThreads);
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    StepMetrics last = r.steps().getLast();
                    long trainable;
                    try (GPT tuned = ModelFiles.load(r.modelDir())) {
                        if (v.bits() > 0) {
                            trainable = tuned.parameters().stream().filter(p -> p.quantized() != null).mapToLong(p -> p.numel()).sum();
                        } else {
                            trainable = tuned.config().totalParameters();
                        }
                    }
                    rows.add(new Row(v, before, r.lastEval().loss(), trainable,
                            FinetuneRuns.bytes(last, MemoryCategory.OPTIMIZER_STATE),
                            FinetuneRuns.bytes(last, MemoryCategory.PARAMETERS, MemoryCategory.GRADIENTS, MemoryCategory.OPTIMIZER_STATE),
                            FinetuneRuns.bytes(last, MemoryCategory.ACTIVATIONS),
                            FinetuneRuns.bytes(last, MemoryCategory.values()), FinetuneRuns.medianTokensPerSecond(r.steps(), 5), seconds));
                    System.err.printf(Locale.ROOT, "  val loss %.4f → %.4f in %.0f s%n", before, r.lastEval().loss(), seconds);
                }
                double baseLoss = rows.getFirst().before();
                String table = table(rows, baseLoss);
                System.out.println();
                System.out.println(table);
                Files.writeString(out.resolve("finetune-bench.md"), table);
                System.out.println("wrote " + out.resolve("finetune-bench.md"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String slug(Variant v) {
        return v.bits() == 0 ? "full" : "peqa" + v.bits();
    }

    private Map<String, String> config(Path base, Path corpus, double valFraction, Variant v, int runSteps, String name) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model.init_from", base.toString());
        m.put("model.peqa", Integer.toString(v.bits()));
        m.put("data.corpus", corpus.toString());
        m.put("data.val_fraction", Double.toString(valFraction));
        m.put("data.batch_size", Integer.toString(batchSize));
        m.put("optim.lr", Double.toString(v.lr()));
        m.put("optim.min_lr", Double.toString(v.lr() / 10));
        m.put("optim.warmup_steps", Integer.toString(Math.min(10, runSteps - 1)));
        m.put("optim.weight_decay", "0");
        m.put("eval.every", "0");
        m.put("eval.batches", Integer.toString(evalBatches));
        m.put("run.steps", Integer.toString(runSteps));
        m.put("run.name", name);
        m.put("run.runs_dir", out.toString());
        m.put("run.tensorboard", "false");
        m.put("run.log_every", "1000");
        return m;
    }

    private static String table(List<Row> rows, double baseLoss) {
        Row full = rows.getFirst();
        double fullGain = baseLoss - full.after();
        StringBuilder sb = new StringBuilder();
        sb.append("| variant | val loss before → after | gain vs base | share of full FT's gain | trainable params | optimizer state | "
                + "params+grads+optimizer | activations (peak) | accounted total | tok/s (median) | wall |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            double gain = baseLoss - r.after();
            sb.append(String.format(Locale.ROOT, "| %s | %.4f → %.4f | %.4f | %.1f%% | %,d (%.2f%%) | %s | %s | %s | %s (%.2f×) | %.0f | %.0f s |%n",
                    r.v().name(), r.before(), r.after(), gain, 100 * gain / fullGain, r.trainable(), 100.0 * r.trainable() / full.trainable(),
                    mib(r.optimizerBytes()), mib(r.modelStateBytes()), mib(r.activationBytes()), mib(r.residentBytes()),
                    (double) r.residentBytes() / full.residentBytes(), r.tokensPerSecond(), r.seconds()));
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
