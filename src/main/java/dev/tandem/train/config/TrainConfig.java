package dev.tandem.train.config;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.nn.GPTConfig;
import dev.tandem.optim.OptimizerSettings;
import dev.tandem.parallel.ParallelModel;
import dev.tandem.plan.ModelSpec;
import dev.tandem.plan.Plan;
import dev.tandem.plan.PlanInputException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Everything a training run needs, one typed section per concern, as the TOML tables {@code
 * [model]}, {@code [data]}, {@code [optim]}, {@code [parallel]}, {@code [eval]}, {@code
 * [checkpoint]}, {@code [run]} and {@code [memory]}. The {@code [parallel]} table is the run's {@link Plan} (its keys
 * are the plan's, or one {@code plan} label); the optimizer it names is {@code optim.name}.
 * Values come from the built-in defaults, then a TOML or JSON file, then command-line overrides
 * ({@code --optim.lr 3e-4}), each layer replacing the keys it names ({@link ConfigLoader}).
 */
public record TrainConfig(ModelSection model, DataSection data, OptimSection optim, Plan parallel, EvalSection eval,
                          CheckpointSection checkpoint, RunSection run, MemorySection memory) {

    public TrainConfig {
        if (!optim.spec().equals(parallel.optimizer())) {
            throw new TandemException("the plan runs optimizer " + parallel.optimizer() + " but optim.name is " + optim.name()
                    + ": name the optimizer in [optim] only (drop optimizer= from parallel.plan)");
        }
        optim.lrSchedule(run.steps());
        if (model.stableEmbedding() && "false".equals(OptimizerSettings.parseOptions(optim.options()).get("stable_embedding"))) {
            throw new TandemException("model.stable_embedding = true keeps the embeddings' 8-bit optimizer state in float32; "
                    + "remove stable_embedding=false from optim.options");
        }
        try {
            parallel.validate(spec(model, data.vocabSize()), parallel.worldSize(), data.batchSize());
        } catch (PlanInputException e) {
            throw new TandemException("[parallel]: " + e.getMessage());
        }
        ParallelModel.requireSupported(parallel);
        if (model.peqa() > 0 && (parallel.tp() > 1 || parallel.pp() > 1)) {
            throw new TandemException("model.peqa trains packed low-bit weights, which tensor and pipeline parallelism do not split yet: "
                    + "use parallel.tp = 1 and parallel.pp = 1 (data parallelism and ZeRO work)");
        }
        if (model.parscale() > 1 && (parallel.tp() > 1 || parallel.pp() > 1)) {
            throw new TandemException("model.parscale runs its streams as one batch on each rank; tensor and pipeline parallelism do not "
                    + "split the prefixes and the aggregation yet: use parallel.tp = 1 and parallel.pp = 1 (data parallelism and ZeRO work)");
        }
        if (model.peqa() > 0 && model.nExperts() > 0) {
            throw new TandemException("model.peqa quantizes the dense linear layers, not experts: use model.peqa = 0 with model.n_experts = "
                    + model.nExperts() + ", or a dense model (n_experts = 0)");
        }
        if (memory.budgetBytes() == 0 && parallel.offload() != dev.tandem.plan.Offload.NONE) {
            throw new TandemException("parallel.offload = " + parallel.offload().configName() + " moves state out of a fast tier of "
                    + "limited size: set memory.budget (e.g. --memory_budget 2GiB), or use parallel.offload = none");
        }
        if (run.maxRestarts() > 0 && !checkpoint.enabled()) {
            throw new TandemException("run.max_restarts = " + run.maxRestarts() + " restarts from the newest checkpoint, but this run "
                    + "saves none: set checkpoint.every (or checkpoint.steps)");
        }
        if (run.elastic()) requireElastic(run, parallel);
        requireDocumentsCompose(data, parallel);
        ParallelModel.requireComposes(model.experts(), parallel);
    }

    /**
     * Packed documents (attention per document) run with data parallelism and ZeRO; a ring shard
     * of cp ranks attends over its whole row, so cp needs each sequence to be one document (hdp).
     */
    private static void requireDocumentsCompose(DataSection data, Plan parallel) {
        if (parallel.mesh().hdp() && data.documents().isEmpty()) {
            throw new TandemException("parallel.hdp schedules sequences of different lengths, one document each: set data.documents to "
                    + "a document corpus (windows of data.corpus are all block_size long: use parallel.cp without hdp for them)");
        }
        if (data.documents().isEmpty()) return;
        if (parallel.tp() > 1 || parallel.pp() > 1) {
            throw new TandemException("data.documents packs documents into rows, which train with data parallelism and ZeRO, not tp = "
                    + parallel.tp() + " or pp = " + parallel.pp() + ": use parallel.tp = 1 and parallel.pp = 1");
        }
        if (parallel.cp() > 1 && !parallel.mesh().hdp()) {
            throw new TandemException("data.documents packs several documents into a row, and a ring of cp = " + parallel.cp() + " ranks "
                    + "attends across the whole row (per-document masks inside a ring shard are not built): set parallel.hdp = true "
                    + "(each document its own sequence, on as many ranks as its length needs) or parallel.cp = 1");
        }
    }

    /**
     * An elastic job gives up data-parallel replicas on restart: only where the state reshards
     * between dp sizes (tensor- and pipeline-parallel slices are kept as they were).
     */
    private static void requireElastic(RunSection run, Plan parallel) {
        if (run.maxRestarts() == 0) throw new TandemException("run.elastic shrinks the job when it restarts: set run.max_restarts > 0");
        if (parallel.islands() > 1 || parallel.experts().spread() || parallel.mesh().splitsSequences()) {
            throw new TandemException("run.elastic gives up data-parallel replicas (with their tensor-parallel ranks and pipeline "
                    + "stages), not yet islands, expert parallelism or context parallelism: " + parallel.label() + " has them; use one "
                    + "island, no expert parallelism and cp = 1, or run.elastic = false");
        }
        if (parallel.optimizer().state() != dev.tandem.plan.OptimizerSpec.StatePrecision.F32) {
            throw new TandemException("run.elastic reshards optimizer state between data-parallel sizes, which 8-bit states cannot be: "
                    + "use a 32-bit optimizer or run.elastic = false");
        }
    }

    /**
     * The embedded default: a small GPT on the bundled Shakespeare corpus, sized to finish in
     * about ten minutes on a 2-core machine (see docs/TRAINING.md for how it was chosen).
     */
    public static TrainConfig defaults() {
        return new TrainConfig(
                new ModelSection(4, 4, 192, 128, false),
                new DataSection("data/tinyshakespeare.txt", "data/tokenizer-shakespeare-2k.json", 2048, 0.1, 16, ""),
                new OptimSection("adamw", 2e-3f, 2e-4f, 60, "cosine", 0.2, 0.1f, 0.9f, 0.95f, 1.0, "", ""),
                Plan.SINGLE,
                new EvalSection(100, 20),
                new CheckpointSection(0, "", "", 3, 0, "", true),
                new RunSection("default", "runs", 1000, 0, 1337, 0, 10, true, 0, 100, false, 0),
                MemorySection.defaults());
    }

    /** Defaults, overlaid with {@code file} (if not null), overlaid with {@code overrides} ({@code section.key → value}). */
    public static TrainConfig load(Path file, Map<String, String> overrides) {
        return ConfigLoader.load(file, overrides);
    }

    /** The model for a tokenizer of {@code vocab} tokens. */
    public GPTConfig gptConfig(int vocab) {
        return new GPTConfig(model.nLayer(), model.nHead(), model.nEmbd(), vocab, model.blockSize(), model.stableEmbedding(), model.experts())
                .withParScale(model.parscale(), model.parscalePrefix());
    }

    /** The model as the planner describes it. */
    public ModelSpec modelSpec(int vocab) {
        return spec(model, vocab);
    }

    // Static: the compact constructor validates before the fields are assigned.
    private static ModelSpec spec(ModelSection m, int vocab) {
        dev.tandem.nn.MoEConfig e = m.experts();
        dev.tandem.plan.MoeShape moe = e.sparse()
                ? new dev.tandem.plan.MoeShape(e.nExperts(), e.topK(), e.dropless() ? 0 : e.capacityFactor(), e.moeEvery())
                : dev.tandem.plan.MoeShape.DENSE;
        return ModelSpec.gpt("this run", m.nLayer(), m.nEmbd(), m.nHead(), vocab, m.blockSize()).withMoe(moe)
                .withParScale(m.parscale(), m.parscalePrefix());
    }

    /** The optimizer hyperparameters (see {@link OptimSection#settings}). */
    public OptimizerSettings optimizerSettings() {
        return optim.settings(model.stableEmbedding());
    }

    /** Optimizer steps this invocation runs to: {@code run.steps}, or {@code run.stop_after} when that is sooner. */
    public int lastStep() {
        return run.lastStep();
    }

    /** Tokens per optimizer step. */
    public long tokensPerStep() {
        return (long) data.batchSize() * model.blockSize();
    }

    /** Where checkpoints go. */
    public Path checkpointRoot() {
        return checkpoint.root(run);
    }

    /**
     * Where island {@code island}'s checkpoints go: the root itself with one island; with several,
     * each its own folder {@code island-<i>} in it (between outer steps the islands' models differ).
     */
    public Path checkpointRoot(int island) {
        return parallel.islands() > 1 ? checkpointRoot().resolve("island-" + island) : checkpointRoot();
    }

    /** Whether to save after {@code stepsDone} optimizer steps. */
    public boolean savesAfter(long stepsDone) {
        return checkpoint.savesAfter(stepsDone, lastStep());
    }

    /** The config as JSON, one object per section, as written next to a run's metrics; {@link #load} reads it back. */
    public ObjectNode toJsonTree() {
        return ConfigLoader.tree(this);
    }

    public String toJson() {
        return toJsonTree().toPrettyString();
    }

    /** The config as a TOML file ({@code tandem train --print-config}); {@link #load} reads it back. */
    public String toToml() {
        return Toml.write(toJsonTree());
    }
}
