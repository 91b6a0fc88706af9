package dev.tandem.train;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.tandem.TandemException;
import dev.tandem.optim.OptimizerSettings;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamGroups;
import dev.tandem.parallel.Plan;
import dev.tandem.plan.PlanCandidate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Everything a training run needs, as one flat record with snake_case keys. Values come from the
 * built-in defaults, then a TOML or JSON file, then command-line overrides ({@code --key value}),
 * each layer replacing the keys it names. Unknown keys and ill-typed values are errors that name
 * the key.
 */
public record TrainConfig(
        // model
        int nLayer, int nHead, int nEmbd, int blockSize, boolean stableEmbedding,
        // data
        String corpus, String tokenizer, int vocabSize, double valFraction,
        // optimisation
        int batchSize, int microBatches, int steps, float lr, float minLr, int warmupSteps,
        String schedule, double decayFraction, float weightDecay, float beta1, float beta2, double gradClip,
        String optimizer, String optimizerOptions, String paramGroups,
        long seed,
        // parallel plan
        int nproc, int zero, int tp, int pp, String recompute, boolean offload, boolean sequenceParallel, String ppSchedule,
        int virtualStages, String ppLayers, String plan,
        // evaluation and output
        int evalEvery, int evalBatches, int logEvery, String name, String runsDir, int threads,
        // checkpoints (docs/CHECKPOINTS.md)
        int ckptEvery, String ckptSteps, String ckptDir, int keepLast, int keepEvery, String resume, boolean asyncCkpt, int stopAfter) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /**
     * The embedded default: a small GPT on the bundled Shakespeare corpus, sized to finish in
     * about ten minutes on a 2-core machine (see docs/TRAINING.md for how it was chosen).
     */
    public static TrainConfig defaults() {
        return new TrainConfig(4, 4, 192, 128, false,
                "data/tinyshakespeare.txt", "data/tokenizer-shakespeare-2k.json", 2048, 0.1,
                16, 1, 1000, 2e-3f, 2e-4f, 60, "cosine", 0.2, 0.1f, 0.9f, 0.95f, 1.0,
                "adamw", "", "",
                1337,
                1, 0, 1, 1, "selective", false, false, "1f1b", 1, "", "",
                100, 20, 10, "default", "runs", 0,
                0, "", "", 3, 0, "", true, 0);
    }

    /**
     * The optimizer hyperparameters: AdamW's β/ε/wd from their keys, plus optimizer_options and
     * param_groups. {@code stable_embedding} also turns on the 8-bit optimizers' option of that
     * name, which keeps the embeddings' state in float32.
     */
    public OptimizerSettings optimizerSettings() {
        Map<String, String> options = OptimizerSettings.parseOptions(optimizerOptions);
        if (stableEmbedding && Optimizers.hasOption(optimizer, "stable_embedding")) options.putIfAbsent("stable_embedding", "true");
        return new OptimizerSettings(beta1, beta2, 1e-8f, weightDecay, ParamGroups.parse(paramGroups), options);
    }

    /** Where checkpoints go: {@code ckpt_dir}, or {@code <runs_dir>/<name>/checkpoints}. */
    public java.nio.file.Path checkpointRoot() {
        return ckptDir.isEmpty() ? java.nio.file.Path.of(runsDir, name, "checkpoints") : java.nio.file.Path.of(ckptDir);
    }

    /** Optimizer steps this invocation runs to: {@code steps}, or {@code stop_after} when that is sooner. */
    public int lastStep() {
        return stopAfter > 0 ? Math.min(steps, stopAfter) : steps;
    }

    /** Tokens per optimizer step. */
    public long tokensPerStep() {
        return (long) batchSize * blockSize;
    }

    /**
     * The parallel plan this config asks for: from the {@code plan} key when set (a plan label as
     * {@code ./tandem plan} prints it, e.g. {@code tp=2 pp=1 dp=1 mb=4 v=1 zero=1 recompute=full
     * sp=off offload=off}), otherwise from the keys nproc, tp, pp, zero, micro_batches, recompute,
     * sequence_parallel, pp_schedule and virtual_stages.
     */
    public Plan parallelPlan() {
        if (plan.isBlank()) {
            return new Plan(nproc / (tp * pp), tp, pp, zero, microBatches, recompute, offload, optimizer, "f32", sequenceParallel,
                    ppSchedule, virtualStages, stageLayers());
        }
        PlanCandidate c;
        try {
            c = PlanCandidate.parse(plan, nproc);
        } catch (RuntimeException e) {
            throw new TandemException("config key 'plan': " + e.getMessage(), e);
        }
        int rowsPerStep = c.microBatch() * c.dp();
        if (batchSize % rowsPerStep != 0) {
            throw new TandemException("config key 'plan' has mb=" + c.microBatch() + " and dp=" + c.dp() + ", which do not divide batch_size "
                    + batchSize + " into whole micro-batches");
        }
        return new Plan(c.dp(), c.tp(), c.pp(), c.zero().level(), batchSize / rowsPerStep, c.recompute().name().toLowerCase(java.util.Locale.ROOT),
                c.offloadOptimizer(), optimizer, "f32", c.sequenceParallel(), c.chunks() > 1 ? "interleaved" : "1f1b", c.chunks(),
                List.of());
    }

    /** {@code ckpt_steps} ("500,1200": save after these optimizer steps) as a set; empty when not set. */
    public java.util.SortedSet<Long> checkpointSteps() {
        return parseCheckpointSteps(ckptSteps);
    }

    private static java.util.SortedSet<Long> parseCheckpointSteps(String ckptSteps) {
        TreeSet<Long> out = new TreeSet<>();
        if (ckptSteps.isBlank()) return out;
        for (String part : ckptSteps.split(",")) {
            long step;
            try {
                step = Long.parseLong(part.strip());
            } catch (NumberFormatException e) {
                step = 0;
            }
            if (step < 1) {
                throw new TandemException("ckpt_steps must be optimizer step counts >= 1 separated by commas (e.g. 500,1200), got '"
                        + ckptSteps + "'");
            }
            out.add(step);
        }
        return out;
    }

    /** Whether to save after {@code stepsDone} optimizer steps: every ckpt_every, at ckpt_steps, and at the invocation's last step. */
    public boolean savesAfter(long stepsDone) {
        if (ckptEvery == 0 && ckptSteps.isBlank()) return false;
        return (ckptEvery > 0 && stepsDone % ckptEvery == 0) || stepsDone == lastStep() || checkpointSteps().contains(stepsDone);
    }

    /** {@code pp_layers} ("3,1": layers per pipeline stage) as numbers; empty when not set. */
    private List<Integer> stageLayers() {
        if (ppLayers.isBlank()) return List.of();
        List<Integer> out = new java.util.ArrayList<>();
        for (String part : ppLayers.split(",")) {
            try {
                out.add(Integer.parseInt(part.strip()));
            } catch (NumberFormatException e) {
                throw new TandemException("pp_layers must be layer counts per pipeline stage separated by commas (e.g. 3,1), got '"
                        + ppLayers + "'");
            }
        }
        return out;
    }

    public TrainConfig {
        if (tp < 1 || pp < 1 || nproc % (tp * pp) != 0) {
            throw new TandemException("nproc (" + nproc + ") must be a multiple of tp × pp (" + tp + " × " + pp + "); the rest is data parallel");
        }
        if (plan == null || recompute == null || ppSchedule == null || ppLayers == null) {
            throw new TandemException("plan, recompute, pp_schedule and pp_layers must be strings");
        }
        if (plan.isBlank() && (microBatches < 1 || batchSize < 1 || batchSize % (microBatches * (nproc / (tp * pp))) != 0)) {
            throw new TandemException("batch_size (" + batchSize + ") must be a positive multiple of micro_batches × data-parallel ranks ("
                    + microBatches + " × " + nproc / (tp * pp) + ")");
        }
        if (steps < 1) throw new TandemException("steps must be >= 1, got " + steps);
        if (evalEvery < 0 || evalBatches < 1) throw new TandemException("eval_every must be >= 0 and eval_batches >= 1");
        if (logEvery < 1) throw new TandemException("log_every must be >= 1, got " + logEvery);
        if (nproc < 1) throw new TandemException("nproc must be >= 1, got " + nproc);
        if (threads < 0) throw new TandemException("threads must be >= 0 (0 = all cores), got " + threads);
        if (gradClip < 0) throw new TandemException("grad_clip must be >= 0 (0 = off), got " + gradClip);
        if (!Optimizers.NAMES.contains(optimizer)) {
            throw new TandemException("optimizer must be one of " + String.join(", ", Optimizers.NAMES) + ", got '" + optimizer + "'");
        }
        // parse now (fields are not assigned yet in a compact constructor), so errors come at load time
        Map<String, String> options = OptimizerSettings.parseOptions(optimizerOptions);
        if (stableEmbedding && "false".equals(options.get("stable_embedding"))) {
            throw new TandemException("stable_embedding = true keeps the embeddings' 8-bit optimizer state in float32; "
                    + "remove stable_embedding=false from optimizer_options");
        }
        ParamGroups.parse(paramGroups);
        if (ckptEvery < 0 || keepLast < 0 || keepEvery < 0) {
            throw new TandemException("ckpt_every, keep_last and keep_every must be >= 0 (0 = off / keep all)");
        }
        if (stopAfter < 0) throw new TandemException("stop_after must be >= 0 (0 = run all steps), got " + stopAfter);
        if (resume == null || ckptDir == null || ckptSteps == null) throw new TandemException("resume, ckpt_dir and ckpt_steps must be strings");
        parseCheckpointSteps(ckptSteps);
        if (name == null || name.isBlank() || !name.matches("[A-Za-z0-9._-]+")) {
            throw new TandemException("name must be letters, digits, '.', '_' or '-', got '" + name + "'");
        }
    }

    /** Defaults, overlaid with {@code file} (if not null), overlaid with {@code overrides}. */
    public static TrainConfig load(Path file, Map<String, String> overrides) {
        ObjectNode tree = JSON.valueToTree(defaults());
        if (file != null) tree.setAll(readFile(file));
        overrides.forEach((key, value) -> {
            String k = key.replace('-', '_');
            if (!tree.has(k)) throw unknownKey(k, "on the command line");
            tree.put(k, value);
        });
        try {
            return JSON.treeToValue(tree, TrainConfig.class);
        } catch (com.fasterxml.jackson.databind.exc.ValueInstantiationException e) {
            if (e.getCause() instanceof TandemException te) throw te;
            throw new TandemException("invalid config: " + e.getOriginalMessage());
        } catch (UnrecognizedPropertyException e) {
            throw unknownKey(e.getPropertyName(), file == null ? "" : "in " + file);
        } catch (MismatchedInputException e) {
            String key = e.getPath().isEmpty() ? "?" : e.getPath().getLast().getFieldName();
            throw new TandemException("config key '" + key + "' has a value of the wrong type (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new TandemException("cannot read config: " + e.getMessage(), e);
        }
    }

    private static ObjectNode readFile(Path file) {
        if (!Files.isRegularFile(file)) throw new TandemException("config file not found: " + file);
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        ObjectMapper reader = name.endsWith(".toml") ? new TomlMapper() : name.endsWith(".json") ? new ObjectMapper() : null;
        if (reader == null) throw new TandemException("config file " + file + " must end in .toml or .json");
        try {
            JsonNode node = reader.readTree(file.toFile());
            if (!(node instanceof ObjectNode obj)) throw new TandemException("config file " + file + " must hold a table of keys");
            ObjectNode known = JSON.valueToTree(defaults());
            obj.fieldNames().forEachRemaining(k -> {
                if (!known.has(k)) throw unknownKey(k, "in " + file);
            });
            return obj;
        } catch (IOException e) {
            throw new TandemException("cannot parse config file " + file + ": " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static TandemException unknownKey(String key, String where) {
        TreeSet<String> known = new TreeSet<>();
        JSON.valueToTree(defaults()).fieldNames().forEachRemaining(known::add);
        return new TandemException("unknown config key '" + key + "' " + where + "; known keys: " + String.join(", ", known));
    }

    /** The config as JSON (snake_case keys), as written next to a run's metrics. */
    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
