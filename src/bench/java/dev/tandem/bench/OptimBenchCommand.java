package dev.tandem.bench;

import dev.tandem.TandemException;
import dev.tandem.data.TokenDataset;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.launch.Settings;
import dev.tandem.nn.GPTConfig;
import dev.tandem.optim.OptimizerSettings;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamGroups;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;
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
 * {@code tandem bench optim}: a fair optimizer comparison in the spirit of the optimizer
 * benchmarking papers. Every optimizer trains the same GPT on the same batches for the same token
 * budget with the same schedule shape and clipping; each gets a learning-rate sweep and is
 * reported at its best lr: final validation loss, tokens and training time to a target loss,
 * optimizer-state bytes (memory accounting) and the mean spectral norm of the hidden matrices.
 * AdamW is the baseline the others are read against (the "peer" of this benchmark).
 */
@Command(name = "optim", mixinStandardHelpOptions = true,
        description = "Optimizers side by side: lr sweep, loss vs tokens, time to target, state bytes.")
final class OptimBenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec commandSpec;

    @Option(names = "--optimizers", split = ",", description = "Which (default: all).")
    List<String> optimizers = Optimizers.NAMES;

    @Option(names = "--steps", defaultValue = "300", description = "Steps per run (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch-size", defaultValue = "8")
    int batchSize;

    @Option(names = "--model", defaultValue = "2,2,64,64", description = "n_layer,n_head,n_embd,block_size (default ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--eval-every", defaultValue = "25")
    int evalEvery;

    @Option(names = "--eval-windows", defaultValue = "64", description = "Validation windows per evaluation.")
    int evalWindows;

    @Option(names = "--target", defaultValue = "NaN",
            description = "Target validation loss (default: AdamW's best final loss rounded up to 0.05).")
    double target;

    @Option(names = "--sweep", defaultValue = "3", description = "Learning rates per optimizer: 3 or 5.")
    int sweep;

    @Option(names = "--out", defaultValue = "runs/bench-optim")
    Path out;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (0 = all cores).")
    int threads;

    /** The lr grid, weight decay and options of each optimizer (SPECS defaults, lr grids centred on them). */
    record Entry(float[] lrs, float weightDecay, Map<String, String> options) {}

    static final Map<String, Entry> GRID = new LinkedHashMap<>();

    static {
        float[] adam = {3e-4f, 1e-3f, 3e-3f, 1e-2f, 3e-2f};
        GRID.put("adamw", new Entry(adam, 0.1f, Map.of()));
        GRID.put("adamw8bit", new Entry(adam, 0.1f, Map.of()));
        float[] lion = {1e-4f, 3e-4f, 1e-3f, 3e-3f, 1e-2f};
        GRID.put("lion", new Entry(lion, 0.3f, Map.of())); // lr 3–10× smaller, wd 3× larger than AdamW
        GRID.put("lion8bit", new Entry(lion, 0.3f, Map.of()));
        // scale-matched Muon shares AdamW's lr and wd (its AdamW part uses the same lr)
        // (a first run found Muon and SOAP best at the top of AdamW's grid, so theirs sits one step higher)
        float[] higher = {1e-3f, 3e-3f, 1e-2f, 3e-2f, 1e-1f};
        GRID.put("muon", new Entry(higher, 0.1f, Map.of("lr_scale", "matched")));
        // SOAP: sides over 1024 (the 2048-token embedding's rows) stay unpreconditioned, to bound the eigensolver
        GRID.put("soap", new Entry(higher, 0.01f, Map.of("max_precond_dim", "1024")));
        GRID.put("sgd", new Entry(new float[] {3e-2f, 0.1f, 0.3f, 1f, 3f}, 0f, Map.of("momentum", "0.9", "nesterov", "true")));
    }

    @Override
    public void run() {
        for (String o : optimizers) if (!GRID.containsKey(o)) throw new TandemException("unknown optimizer '" + o + "' in --optimizers");
        if (sweep != 3 && sweep != 5) throw new TandemException("--sweep must be 3 or 5");
        String[] m = model.split(",");
        if (m.length != 4) throw new TandemException("--model needs n_layer,n_head,n_embd,block_size");
        PrintStream console = System.out;
        // The bundled corpus and tokenizer, as the default training run uses them.
        dev.tandem.train.config.TrainConfig defaults = dev.tandem.train.config.TrainConfig.defaults();
        Tokenizer tok = TokenizerJson.load(resolve(java.nio.file.Path.of(defaults.data().tokenizer())));
        GPTConfig mc = new GPTConfig(Integer.parseInt(m[0].trim()), Integer.parseInt(m[1].trim()), Integer.parseInt(m[2].trim()),
                tok.vocabSize(), Integer.parseInt(m[3].trim()));
        try (WorkerPool pool = new WorkerPool(threads > 0 ? threads : Settings.of(commandSpec.root().userObject()).compute().threads());
             TokenDataset data = TokenDataset.open(resolve(java.nio.file.Path.of(defaults.data().corpus())), tok,
                     java.nio.file.Path.of(defaults.run().runsDir(), "cache"), defaults.data().valFraction(), s -> { })) {
            Kernels kernels = Kernels.fast(pool);
            Files.createDirectories(out);
            String header = String.format(Locale.ROOT,
                    "tandem bench optim on %s, %d threads, Java %s%nmodel: GPT n_layer %d, n_head %d, n_embd %d, vocab %d, block %d "
                            + "(%,d parameters); %d steps × %d×%d tokens = %,d tokens per run; warmup 5%% + cosine to lr/10; "
                            + "clip 1.0; eval every %d steps on %d windows",
                    BenchInfo.cpuModel(), pool.threads(), Runtime.version(), mc.nLayer(), mc.nHead(), mc.nEmbd(),
                    mc.vocabSize(), mc.blockSize(), mc.totalParameters(), steps, batchSize, mc.blockSize(),
                    (long) steps * batchSize * mc.blockSize(), evalEvery, evalWindows);
            console.println(header);
            // JIT warm-up: a short untimed run, so the first optimizer measured is not also paying for compilation
            OptimizerRun.run(spec(mc, "adamw", 1e-3f, Math.min(steps, 30)), data, kernels);
            Map<String, List<OptimizerRun.Outcome>> all = new LinkedHashMap<>();
            BenchProgress progress = new BenchProgress("optim", optimizers.stream().mapToInt(o -> lrs(o).length).sum(), System.err);
            for (String o : optimizers) {
                List<OptimizerRun.Outcome> runs = new ArrayList<>();
                for (float lr : lrs(o)) {
                    progress.next(String.format(Locale.ROOT, "%s lr %.0e", o, lr));
                    OptimizerRun.Outcome r = OptimizerRun.run(spec(mc, o, lr, steps), data, kernels);
                    System.err.printf(Locale.ROOT, "  final val loss %.4f in %.1f s%s%n", r.finalLoss(), r.trainSeconds(),
                            r.diverged() ? " (diverged)" : "");
                    runs.add(r);
                }
                all.put(o, runs);
            }
            OptimReport report = new OptimReport(all, target);
            String table = report.markdown();
            console.println();
            console.println(table);
            Files.writeString(out.resolve("optim-bench.md"), header + "\n\n" + table);
            Files.writeString(out.resolve("optim-curves.csv"), report.csv());
            report.plot(out.resolve("optim-loss.png"));
            console.println("wrote " + out.resolve("optim-bench.md") + ", optim-curves.csv and optim-loss.png");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private float[] lrs(String optimizer) {
        float[] five = GRID.get(optimizer).lrs();
        return sweep == 5 ? five : new float[] {five[1], five[2], five[3]};
    }

    private OptimizerRun.Spec spec(GPTConfig mc, String optimizer, float lr, int runSteps) {
        Entry e = GRID.get(optimizer);
        OptimizerSettings s = new OptimizerSettings(0.9f, 0.95f, 1e-8f, e.weightDecay(), ParamGroups.NONE, e.options());
        return new OptimizerRun.Spec(mc, batchSize, runSteps, Math.max(1, runSteps / 20), evalEvery, evalWindows, 1.0, 1337,
                optimizer, s, lr);
    }

    private Path resolve(Path p) {
        String path = p.toString();
        if (Files.exists(p)) return p;
        String home = Settings.of(commandSpec.root().userObject()).home();
        if (home != null && Files.exists(Path.of(home).resolve(p))) return Path.of(home).resolve(p);
        throw new TandemException(path + " not found (run from the Tandem checkout or set TANDEM_HOME)");
    }
}
