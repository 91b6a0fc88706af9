package dev.tandem.api;

import dev.tandem.TandemException;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.launch.FlightRecorder;
import dev.tandem.launch.Rendezvous;
import dev.tandem.launch.RestartLoop;
import dev.tandem.tensor.ComputeOptions;
import dev.tandem.train.FaultDrill;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A training run, configured and checked, ready to {@link #run()}: a GPT of some {@link ModelShape},
 * its data, optimizer and schedule, a {@link ParallelPlan}, evaluation and checkpoint settings, and
 * the callbacks to tell. Build one with {@link #builder()}; {@code tandem train} builds one from
 * its config file and {@code --section.key} options the same way.
 *
 * <p><b>Ranks.</b> {@link #run()} trains in this JVM: one rank for a one-rank plan, else one
 * thread per rank (dp·tp·pp of them), connected by in-memory channels through the same
 * collectives as separate processes; rank 0's thread calls the callbacks. Threads are the choice
 * here because a program's callbacks and in-memory tokens then need nothing copied between
 * processes. Limits of ranks as threads: the ranks share this JVM's heap and the machine's cores
 * (each rank gets its share of them, unless {@link Builder#threads} sets every rank's), so they
 * run no faster than one rank would on the same cores and are for checking that a plan trains as
 * it should; and a rank that fails takes the others down with it. Each rank counts its own memory. For ranks as separate processes, with their own memory (what
 * {@code tandem train} does for a multi-rank plan), start one process per rank with the
 * torchrun-style environment ({@code RANK}, {@code WORLD_SIZE}, {@code MASTER_ADDR},
 * {@code MASTER_PORT}: Slurm, Kubernetes, or Tandem's own launcher) and call {@link #runAsRank()}
 * in each.
 *
 * <p>A run writes to {@code <runsDir>/<name>/}: {@code train-config.json}, {@code metrics.jsonl},
 * {@code loss.png}, {@code checkpoints/} and the final model in {@code model/} (docs/TRAINING.md).
 */
public final class Training {
    private final TrainConfig cfg;
    private final Dataset data;
    private final List<TrainingCallback> callbacks;
    private final PrintStream out;
    private final boolean progressBar;

    private Training(TrainConfig cfg, Dataset data, List<TrainingCallback> callbacks, PrintStream out, boolean progressBar) {
        this.cfg = cfg;
        this.data = data;
        this.callbacks = List.copyOf(callbacks);
        this.out = out;
        this.progressBar = progressBar;
    }

    /** A builder that starts from Tandem's defaults (docs/TRAINING.md lists them). */
    public static Builder builder() {
        return new Builder();
    }

    /** Ranks the run has: the plan's dp·tp·pp. */
    public int ranks() {
        return cfg.parallel().worldSize();
    }

    /** The plan the run executes (with the training's optimizer). */
    public ParallelPlan plan() {
        return ParallelPlan.of(cfg.parallel());
    }

    /** Where the run writes its files: {@code <runsDir>/<name>}. */
    public Path runDir() {
        return Path.of(cfg.run().runsDir(), cfg.run().name());
    }

    /**
     * Where the run's checkpoints go ({@code checkpoint.dir}, by default {@code <runDir>/checkpoints});
     * with islands, island 0's folder in it (each island keeps its own).
     */
    public Path checkpointDir() {
        return cfg.checkpointRoot(0);
    }

    /**
     * How an elastic job shrinks when it restarts ({@code run.elastic}), or null when it restarts at
     * the same size. Asked once, before the job's first start: a restart that has shrunk the job to
     * one replica still runs with {@code run.elastic} (it has nothing left to give up).
     */
    public RestartLoop.Elastic elastic() {
        var plan = cfg.parallel();
        if (!cfg.run().elastic()) return null;
        if (plan.dp() < 2) throw new TandemException("run.elastic needs parallel.dp >= 2 (a replica to give up), got " + plan.dp());
        return new RestartLoop.Elastic(cfg.data().batchSize(), plan.microBatches(), plan.tp() * plan.cp(), plan.pp());
    }

    /** How often the launcher restarts the job from its newest checkpoint after a fault ({@code run.max_restarts}). */
    public int maxRestarts() {
        return cfg.run().maxRestarts();
    }

    /** The whole configuration as TOML (what {@code tandem train --print-config} prints; a config file that reads back to it). */
    public String toToml() {
        return cfg.toToml();
    }

    /**
     * Trains in this JVM (one thread per rank when the plan has several, see the class comment)
     * and returns when the final model is written. Rank 0 calls the callbacks. Throws
     * {@link TandemException} for a problem the caller can fix (a file that is missing, data
     * shorter than the context, a loss that became NaN), naming it; with several ranks, the error
     * of the rank that failed first.
     */
    public TrainingResult run() {
        return run(ComputeOptions.defaults().threads());
    }

    /**
     * {@link #run()} on {@code threads} compute threads in all (shared among the ranks) where
     * {@code run.threads} is 0; the command line passes what {@code TANDEM_THREADS} says.
     */
    public TrainingResult run(int threads) {
        int n = ranks();
        if (n == 1) {
            ProcessGroup one = LocalWorld.create(1, CommOptions.defaults()).getFirst();
            try (one) {
                return runRank(one, threads, FaultDrill.NONE);
            }
        }
        int threadsPerRank = Math.max(1, threads / n); // the ranks share this machine's cores
        AtomicReference<TrainingResult> rankZero = new AtomicReference<>();
        try {
            LocalWorld.run(n, CommOptions.defaults(), world -> {
                TrainingResult r = runRank(world, threadsPerRank, FaultDrill.NONE);
                if (world.rank() == 0) rankZero.set(r);
            });
        } catch (LocalWorld.RankFailure f) {
            // The first failure is the cause; the other ranks fail because it left.
            if (f.getCause() instanceof RuntimeException e) {
                for (Throwable s : f.getSuppressed()) e.addSuppressed(s);
                throw e;
            }
            throw f;
        }
        return rankZero.get();
    }

    /**
     * Trains as one rank of a job whose processes were started with the torchrun-style environment
     * ({@code RANK}, {@code WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT}, and
     * {@code LOCAL_RANK}, {@code LOCAL_WORLD_SIZE} on each host), as Tandem's launcher, Slurm or
     * Kubernetes set it; every process of the job calls this with the same configuration.
     * {@code WORLD_SIZE} must equal the plan's dp·tp·pp. The process binds itself to its share of
     * the host's cores. Only rank 0 prints, writes the run's files and calls the callbacks; the
     * other ranks' results hold their own steps and evaluations.
     */
    public TrainingResult runAsRank() {
        return runAsRank(System.getenv());
    }

    /** {@link #runAsRank()} in the environment {@code env} (the command line passes the one it read at its start). */
    public TrainingResult runAsRank(Map<String, String> env) {
        if (!isJobRank(env)) {
            throw new TandemException("runAsRank() needs the environment of a job's rank (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), "
                    + "as Tandem's launcher, Slurm or Kubernetes set it; use run() to train in this process");
        }
        int cpus = Rendezvous.bindToCores(env);
        try (ProcessGroup world = Rendezvous.fromEnvironment(env)) {
            return FlightRecorder.recording(FlightRecorder.dir(runDir()), world, () -> runRank(world, cpus, FaultDrill.fromEnvironment(env)));
        }
    }

    /** Whether this process was started as one rank of a job ({@code RANK} and {@code WORLD_SIZE} are set): then call {@link #runAsRank()}. */
    public static boolean isJobRank() {
        return isJobRank(System.getenv());
    }

    /** {@link #isJobRank()} in the environment {@code env}. */
    public static boolean isJobRank(Map<String, String> env) {
        return Rendezvous.isRankProcess(env);
    }

    /** @param threads the rank's compute threads unless {@code run.threads} says */
    private TrainingResult runRank(ProcessGroup world, int threads, FaultDrill drill) {
        boolean zero = world.rank() == 0;
        Events listener = zero ? new Events(callbacks) : null;
        Trainer trainer = new Trainer(cfg, data.source(), out, progressBar, world, threads,
                listener == null ? List.of() : List.of(listener), drill);
        Trainer.Result r = trainer.run();
        TrainingResult result = new TrainingResult(r.runDir(), r.modelDir(), r.steps().stream().map(Events::stepInfo).toList(),
                r.evals().stream().map(Events::evalInfo).toList(), listener == null ? List.of() : listener.checkpoints());
        if (zero) callbacks.forEach(c -> c.onFinish(result));
        return result;
    }

    /**
     * Collects a training's settings. Every method sets one key of the configuration
     * (docs/TRAINING.md names them: {@code steps} is {@code run.steps}, {@code lr} is
     * {@code optim.lr}, ...) on top of the defaults or a {@link #config(Path) config file}; nothing
     * is checked until {@link #build()}, which checks everything at once and throws
     * {@link TandemException} naming the first bad key. Not thread-safe; {@code build()} may be
     * called again after more changes.
     */
    public static final class Builder {
        private Path configFile;
        private final Map<String, String> keys = new LinkedHashMap<>();
        private ParallelPlan plan;
        private Dataset data;
        private Path home;
        private final List<TrainingCallback> callbacks = new ArrayList<>();
        private PrintStream out = System.out;
        private boolean progressBar;

        private Builder() {}

        /**
         * Starts from a TOML or JSON config file (what {@code tandem train --config} reads, e.g. a
         * run's {@code train-config.json}) instead of the defaults; the builder's settings apply on top.
         */
        public Builder config(Path file) {
            this.configFile = Objects.requireNonNull(file, "file");
            return this;
        }

        /**
         * Sets any config key, {@code section.key} as in docs/TRAINING.md (e.g. {@code "optim.beta2"},
         * {@code "parallel.recompute"}); dashes and underscores are the same. The value is read as a
         * config file would read it.
         */
        public Builder set(String key, Object value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value of " + key);
            keys.put(key.replace('-', '_'), String.valueOf(value));
            return this;
        }

        /** Sets every {@code section.key → value} of {@code settings} in order, as {@link #set} does. */
        public Builder set(Map<String, String> settings) {
            settings.forEach(this::set);
            return this;
        }

        /** The model's shape: layers, heads, width ({@code embd}, divisible by {@code heads}) and context length. */
        public Builder model(int layers, int heads, int embd, int blockSize) {
            return set("model.n_layer", layers).set("model.n_head", heads).set("model.n_embd", embd).set("model.block_size", blockSize);
        }

        /** The model's shape. */
        public Builder model(ModelShape shape) {
            return model(shape.layers(), shape.heads(), shape.embd(), shape.blockSize());
        }

        /**
         * The tokens to train on. Without it, the run reads the config's {@code [data]} corpus and
         * tokenizer files (by default the Shakespeare corpus of a Tandem checkout). The vocabulary
         * is the dataset's.
         */
        public Builder data(Dataset dataset) {
            this.data = Objects.requireNonNull(dataset, "dataset");
            return this;
        }

        /**
         * Where the config's relative {@code [data]} paths are also looked for, after the working
         * directory: a Tandem checkout, so its bundled corpus is found from anywhere ({@code tandem
         * train} passes {@code TANDEM_HOME}, which its launcher script sets). Null: the working
         * directory only (the default).
         */
        public Builder home(Path checkout) {
            this.home = checkout;
            return this;
        }

        /** Sequences per optimizer step, over all data-parallel replicas ({@code data.batch_size}). */
        public Builder batchSize(int sequences) {
            return set("data.batch_size", sequences);
        }

        /** The share of the tokens, at their end, held out for validation ({@code data.val_fraction}, default 0.1). */
        public Builder valFraction(double fraction) {
            return set("data.val_fraction", fraction);
        }

        /** Optimizer steps of the whole run; the learning-rate schedule spans them ({@code run.steps}). */
        public Builder steps(int steps) {
            return set("run.steps", steps);
        }

        /** Stops this run after this many steps, though the schedule spans {@link #steps}; resume to continue ({@code run.stop_after}). */
        public Builder stopAfter(int steps) {
            return set("run.stop_after", steps);
        }

        /** The optimizer: adamw (default), adamw8bit, lion, lion8bit, muon, soap or sgd ({@code optim.name}). */
        public Builder optimizer(String name) {
            return set("optim.name", name);
        }

        /** The peak learning rate ({@code optim.lr}). */
        public Builder lr(double lr) {
            return set("optim.lr", lr);
        }

        /** The final learning rate of the decay ({@code optim.min_lr}). */
        public Builder minLr(double lr) {
            return set("optim.min_lr", lr);
        }

        /** Steps of linear warmup ({@code optim.warmup_steps}). */
        public Builder warmupSteps(int steps) {
            return set("optim.warmup_steps", steps);
        }

        /** The learning-rate schedule: cosine (default), wsd or linear ({@code optim.schedule}). */
        public Builder schedule(String name) {
            return set("optim.schedule", name);
        }

        /** Decoupled weight decay ({@code optim.weight_decay}). */
        public Builder weightDecay(double decay) {
            return set("optim.weight_decay", decay);
        }

        /** Clips the global gradient norm to this; 0 turns clipping off ({@code optim.grad_clip}). */
        public Builder gradClip(double maxNorm) {
            return set("optim.grad_clip", maxNorm);
        }

        /**
         * How each step is split across ranks; replaces the config's {@code [parallel]} section. The
         * run has {@code plan.ranks()} ranks (see the class comment for how they run). The plan
         * takes the training's optimizer ({@link #optimizer}).
         */
        public Builder plan(ParallelPlan plan) {
            this.plan = Objects.requireNonNull(plan, "plan");
            return this;
        }

        /** The plan as a label, e.g. {@code "dp=2 zero=1"}: {@code plan(ParallelPlan.parse(label))}. */
        public Builder plan(String label) {
            return plan(ParallelPlan.parse(label));
        }

        /** Optimizer steps between evaluations; 0 evaluates only after the last step ({@code eval.every}). */
        public Builder evalEvery(int steps) {
            return set("eval.every", steps);
        }

        /** Batches of {@link #batchSize} sequences each evaluation reads ({@code eval.batches}). */
        public Builder evalBatches(int batches) {
            return set("eval.batches", batches);
        }

        /** Saves a checkpoint every this many steps and after the last one; 0 (default) saves none ({@code checkpoint.every}). */
        public Builder checkpointEvery(int steps) {
            return set("checkpoint.every", steps);
        }

        /**
         * Whether checkpoints are written in the background while training goes on (default true)
         * or before training continues ({@code checkpoint.async}).
         */
        public Builder checkpointAsync(boolean async) {
            return set("checkpoint.async", async);
        }

        /** Keeps the newest this many checkpoints; 0 keeps all ({@code checkpoint.keep_last}, default 3). */
        public Builder keepLast(int checkpoints) {
            return set("checkpoint.keep_last", checkpoints);
        }

        /** Where checkpoints go; default {@code <runsDir>/<name>/checkpoints} ({@code checkpoint.dir}). */
        public Builder checkpointDir(Path dir) {
            return set("checkpoint.dir", dir.toString());
        }

        /** Continues from the newest complete checkpoint, or starts fresh when there is none ({@code checkpoint.resume = latest}). */
        public Builder resumeLatest() {
            return set("checkpoint.resume", "latest");
        }

        /** Continues from checkpoint directory {@code checkpoint} ({@code checkpoint.resume}). */
        public Builder resume(Path checkpoint) {
            return set("checkpoint.resume", checkpoint.toString());
        }

        /** The run's name: its folder under {@link #runsDir} ({@code run.name}, default "default"). */
        public Builder name(String name) {
            return set("run.name", name);
        }

        /** The folder that holds runs ({@code run.runs_dir}, default "runs"). */
        public Builder runsDir(Path dir) {
            return set("run.runs_dir", dir.toString());
        }

        /** The seed of the initialization and of the batch order ({@code run.seed}). */
        public Builder seed(long seed) {
            return set("run.seed", seed);
        }

        /** Compute threads; 0 (default) uses all cores, shared among the ranks ({@code run.threads}). */
        public Builder threads(int threads) {
            return set("run.threads", threads);
        }

        /** Steps between progress lines in the output ({@code run.log_every}). */
        public Builder logEvery(int steps) {
            return set("run.log_every", steps);
        }

        /** Also tells {@code callback} of the run's progress (on rank 0's training thread; see {@link TrainingCallback}). */
        public Builder callback(TrainingCallback callback) {
            callbacks.add(Objects.requireNonNull(callback, "callback"));
            return this;
        }

        /** Calls {@code onStep} after each optimizer step. */
        public Builder onStep(Consumer<StepInfo> onStep) {
            Objects.requireNonNull(onStep, "onStep");
            return callback(new TrainingCallback() {
                @Override
                public void onStep(StepInfo step) {
                    onStep.accept(step);
                }
            });
        }

        /** Calls {@code onEval} after each evaluation. */
        public Builder onEval(Consumer<EvalInfo> onEval) {
            Objects.requireNonNull(onEval, "onEval");
            return callback(new TrainingCallback() {
                @Override
                public void onEval(EvalInfo eval) {
                    onEval.accept(eval);
                }
            });
        }

        /** Calls {@code onCheckpoint} after each committed checkpoint. */
        public Builder onCheckpoint(Consumer<CheckpointInfo> onCheckpoint) {
            Objects.requireNonNull(onCheckpoint, "onCheckpoint");
            return callback(new TrainingCallback() {
                @Override
                public void onCheckpoint(CheckpointInfo checkpoint) {
                    onCheckpoint.accept(checkpoint);
                }
            });
        }

        /** Where rank 0 prints the run's log (default {@code System.out}). */
        public Builder output(PrintStream out) {
            this.out = Objects.requireNonNull(out, "out");
            return this;
        }

        /** Prints nothing (the run's files and the callbacks still tell everything). */
        public Builder quiet() {
            return output(new PrintStream(OutputStream.nullOutputStream()));
        }

        /** Whether to draw a live progress bar with the time left under the log lines (for a terminal; default false). */
        public Builder progressBar(boolean on) {
            this.progressBar = on;
            return this;
        }

        /**
         * Checks every setting (types, ranges, the plan against the model, the ranks and the batch)
         * and returns the training; throws {@link TandemException} naming the first bad key.
         */
        public Training build() {
            Map<String, String> all = new LinkedHashMap<>(keys);
            if (data != null && !data.fromConfig()) {
                // The dataset decides the vocabulary; the config's corpus keys do not apply and say so.
                all.put("data.vocab_size", Integer.toString(data.vocabSize()));
                all.put("data.corpus", data.corpusKey());
                all.put("data.tokenizer", data.tokenizerKey());
            }
            if (plan != null) {
                List<String> parallel = keys.keySet().stream().filter(k -> k.toLowerCase(Locale.ROOT).startsWith("parallel.")).toList();
                if (!parallel.isEmpty()) {
                    throw new TandemException("plan(...) gives the whole plan, but " + String.join(", ", parallel)
                            + " is set too: put it in the plan's label");
                }
            }
            TrainConfig base = TrainConfig.load(configFile, all);
            TrainConfig cfg = plan == null ? base
                    : new TrainConfig(base.model(), base.data(), base.optim(), plan.toPlan().withOptimizer(base.optim().spec()), base.eval(),
                            base.checkpoint(), base.run(), base.memory());
            return new Training(cfg, data != null ? data : Dataset.ofConfig(cfg.data(), home), callbacks, out, progressBar);
        }
    }
}
