package dev.tandem.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpointer;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.ckpt.HfImport;
import dev.tandem.ckpt.Piece;
import dev.tandem.ckpt.Pieces;
import dev.tandem.ckpt.Restore;
import dev.tandem.comm.PeerFailureException;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.data.DataPosition;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Split;
import dev.tandem.offload.OffloadedAdamW;
import dev.tandem.optim.Optimizer;
import dev.tandem.parallel.ParallelModel;
import dev.tandem.parallel.TensorParallel;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.train.config.TrainConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The trainer's side of checkpoints: which checkpoint to resume from ({@code checkpoint.resume}),
 * when to save ({@code checkpoint.every}, {@code checkpoint.steps}, and the last step of the invocation), what the manifest says
 * about the run, and the blocked-time statistics. The format and the async pipeline live in
 * {@code dev.tandem.ckpt}.
 */
final class Checkpointing implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TrainConfig cfg;
    private final ProcessGroup world;
    private final Path root;
    private final ParallelModel pm;
    private final Optimizer optimizer;
    private final GPTConfig model;
    private final Path tokenizer;
    private final PrintStream out;
    private final long initSeed, dataSeed;
    private final boolean async;
    private final Checkpointer saver; // null when neither checkpoint.every nor checkpoint.steps is set
    // Committed saves not yet reported to the listeners: filled on rank 0 by the thread that wrote the manifest.
    private final java.util.Queue<CheckpointSaved> committed = new java.util.concurrent.ConcurrentLinkedQueue<>();

    /**
     * @param root     where this rank's checkpoints go: the config's, or its island's folder in it
     * @param world    the ranks that save one checkpoint together: the job, or this rank's island
     * @param pm       the model as this rank holds it under the plan
     * @param initSeed the seed the parameters were initialized from (the original run's, when resuming)
     * @param dataSeed the seed of the batch order
     */
    Checkpointing(TrainConfig cfg, Path root, ProcessGroup world, ParallelModel pm, Optimizer optimizer, GPTConfig model, Path tokenizer,
                  PrintStream out, long initSeed, long dataSeed) {
        this.pm = pm;
        this.initSeed = initSeed;
        this.dataSeed = dataSeed;
        this.cfg = cfg;
        this.world = world;
        this.root = root;
        this.optimizer = optimizer;
        this.model = model;
        this.tokenizer = tokenizer;
        this.out = out;
        var c = cfg.checkpoint();
        // An async snapshot copies the state into RAM first: with the optimizer state in a slower tier that is the
        // copy the budget cannot hold, so saves are synchronous and read each tensor where it lives (one copy, tier to file).
        boolean offloaded = optimizer instanceof OffloadedAdamW o && o.tier() != null;
        this.async = c.async() && !offloaded;
        if (c.enabled() && c.async() && offloaded) {
            out.println("checkpoints: synchronous, since the optimizer state lives in a slower tier (an async snapshot would copy it "
                    + "into RAM, past memory.budget)");
        }
        if (c.enabled()) {
            this.saver = new Checkpointer(new Checkpointer.Options(root, world.rank(), world.size(), jobId(world),
                    async, 2, c.keepLast(), c.keepEvery(), Duration.ofMinutes(10), rank -> requireAlive(world, rank)),
                    // Of the ranks holding the same elements, the owner saves them (the others may save an empty shard).
                    pieces(pm, optimizer, world.rank() == 0),
                    out::println, (step, dir) -> committed.add(new CheckpointSaved(step, dir)));
            out.printf("checkpoints: %s to %s, %s, %,d bytes per rank snapshot; keep last %s%s%n", when(cfg),
                    root, async ? "asynchronous" : "synchronous", saver.snapshotBytes(),
                    c.keepLast() == 0 ? "all" : Integer.toString(c.keepLast()),
                    c.keepEvery() > 0 ? " and every " + c.keepEvery() + "th" : "");
        } else {
            this.saver = null;
        }
    }

    /**
     * What this rank saves: the parameter slices it owns with their optimizer state, and on the
     * first rank also what training leaves unchanged (frozen parameters, PEQA's packed codes and
     * zero points), which every rank holds whole.
     */
    private static List<Piece> pieces(ParallelModel pm, Optimizer optimizer, boolean first) {
        List<Piece> all = new java.util.ArrayList<>(Pieces.of(pm.optimizerSlices(), optimizer.state(), splits(pm.tensorParallel()), pm::owns));
        if (first) all.addAll(Pieces.fixed(pm.model().parameters()));
        return all;
    }

    /** Ends rank 0's wait for a shard as soon as the rank that writes it is known to have failed. */
    private static void requireAlive(ProcessGroup world, int rank) {
        String why = world.peerFailure(rank);
        if (why != null) {
            throw new PeerFailureException("checkpoint commit: rank " + rank + " did not write its shard: " + why, rank);
        }
    }

    /** "every 100 steps", "after steps 500, 1200", or both. */
    private static String when(TrainConfig cfg) {
        var c = cfg.checkpoint();
        String every = c.every() > 0 ? "every " + c.every() + " steps" : "";
        String at = c.saveSteps().isEmpty() ? "" : "after steps " + String.join(", ", c.saveSteps().stream().map(String::valueOf).toList());
        return every.isEmpty() ? at : at.isEmpty() ? every : every + " and " + at;
    }

    /** A random id from rank 0, the same on every rank: names this job's saves. */
    private static String jobId(ProcessGroup world) {
        try (Tensor t = Tensor.allocate(DType.U8, MemoryCategory.COMMUNICATION, 8)) {
            byte[] b = new byte[8];
            if (world.rank() == 0) new SecureRandom().nextBytes(b);
            t.data().copyFrom(java.lang.foreign.MemorySegment.ofArray(b));
            if (world.size() > 1) world.broadcast(t.data(), DType.U8, 8, 0);
            return HexFormat.of().formatHex(t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }

    /**
     * The checkpoint named by {@code checkpoint.resume} ("" none, "latest" under {@code root}, or a
     * directory), opened and verified. With islands ({@code island} not null) each island keeps its
     * own checkpoints under {@code root}, and a directory names the step folder to read there.
     */
    static Checkpoint openResume(TrainConfig cfg, Path root, String island, PrintStream out) {
        String resume = cfg.checkpoint().resume();
        if (resume.isEmpty()) return null;
        Checkpoint c;
        if (resume.equals("latest")) {
            c = Checkpoints.latest(root, m -> out.println("resume: " + m));
            if (c == null) {
                boolean any = Files.isDirectory(root) && root.toFile().list().length > 0;
                if (any) throw new TandemException("resume latest: no valid checkpoint under " + root + " (see the reasons above)");
                out.println("resume: no checkpoint under " + root + " yet; starting from step 0");
                return null;
            }
        } else {
            c = Checkpoint.open(island == null ? Path.of(resume) : root.resolve(Path.of(resume).getFileName()));
        }
        out.printf("resume: from %s (step %d, written by %s)%n", c.dir(), c.step(), c.planDescription());
        return c;
    }

    /**
     * The initial model: the checkpoint's parameters when resuming (with a PEQA checkpoint's
     * packed linear layers, which must have {@code peqa} bits), else the weights of
     * {@code model.init_from} when it names a directory, else a fresh initialization from the seed.
     */
    static GPT initialModel(GPTConfig config, long seed, Checkpoint resume, String initFrom, int peqa) {
        if (resume == null && !initFrom.isEmpty()) {
            try {
                return HfImport.weights(Path.of(initFrom), config, peqa);
            } catch (IOException e) {
                throw new TandemException("model.init_from: cannot read " + initFrom + ": " + e.getMessage(), e);
            }
        }
        if (resume == null) return GPT.initialized(config, seed);
        if (!resume.modelConfig().equals(config)) {
            throw new TandemException("checkpoint " + resume.dir() + " holds a model " + resume.modelConfig()
                    + ", but the config asks for " + config + ": use the checkpoint's model keys and tokenizer");
        }
        if (resume.peqaBits() != peqa) {
            throw new TandemException("checkpoint " + resume.dir() + (resume.peqaBits() == 0 ? " holds a float model" : " holds a "
                    + resume.peqaBits() + "-bit PEQA model") + ", but the config says model.peqa = " + peqa + ": resume with model.peqa = "
                    + resume.peqaBits());
        }
        return Restore.model(resume);
    }

    /**
     * A run resumes with the tokenizer its checkpoint was trained with: the same ids must mean the
     * same text, also when the vocabulary has the same size (another tokenizer of the corpus).
     */
    static void requireSameTokenizer(Checkpoint resume, dev.tandem.data.Tokenizer tok, Path runTokenizer) {
        Path saved = resume.tokenizer();
        if (saved == null || tok == null) return;
        if (!dev.tandem.data.TokenizerJson.load(saved).fingerprint().equals(tok.fingerprint())) {
            throw new TandemException("checkpoint " + resume.dir() + " was trained with the tokenizer in " + saved + ", but this run reads its "
                    + "corpus with another one" + (runTokenizer == null ? "" : " (" + runTokenizer + ")") + ": set data.tokenizer to "
                    + saved + " or start a new run");
        }
    }

    /** The seed the checkpoint's parameters were first initialized from. */
    static long initSeed(Checkpoint resume) {
        return resume.manifest().path("rng").path("init_seed").asLong();
    }

    private static Map<String, Split> splits(TensorParallel tp) {
        return tp == null ? Map.of() : tp.splits();
    }

    /**
     * Restores optimizer state (resharded to the slices this rank holds under the plan) and returns
     * the data position to continue from.
     */
    static DataPosition restore(Checkpoint resume, TrainConfig cfg, Optimizer optimizer, ParallelModel pm, PrintStream out) {
        Restore.optimizer(resume, optimizer, cfg.optim().name(), pm.optimizerSlices(), splits(pm.tensorParallel()));
        var pos = resume.manifest().path("rng").path("data_position");
        DataPosition p = new DataPosition(pos.path("seed").asLong(), pos.path("step").asLong());
        if (p.seed() != cfg.run().seed()) {
            out.printf("resume: data order continues with the checkpoint's seed %d (run.seed says %d)%n", p.seed(), cfg.run().seed());
        }
        resume.close();
        return p;
    }

    /** Before optimizer step: the snapshot of the previous save must be copied out first. */
    void beforeOptimizerStep() {
        if (saver != null) saver.beforeUpdate();
    }

    /** After optimizer step {@code stepsDone}: saves when due (see {@link TrainConfig#savesAfter}). */
    void afterOptimizerStep(long stepsDone) {
        if (saver == null || !cfg.savesAfter(stepsDone)) return;
        save(stepsDone);
    }

    /**
     * Saves after {@code stepsDone} unless the schedule just did, then waits until every save is
     * on disk and committed: the job is about to stop on purpose ({@link SlowRankEviction}).
     */
    void saveAndFinish(long stepsDone, Path runDir) {
        if (saver == null) return;
        if (!cfg.savesAfter(stepsDone)) save(stepsDone);
        finish(runDir);
    }

    private void save(long stepsDone) {
        if (optimizer instanceof OffloadedAdamW o) o.flush(); // write-backs still in flight would otherwise be missed
        saver.save(stepsDone, world.rank() == 0 ? info(stepsDone) : null, world.rank() == 0 ? tokenizer : null);
    }

    /** Tells {@code listener}, on the calling (training) thread, of the saves committed since the last call, in order. */
    void reportCommitted(TrainingListener listener) {
        for (CheckpointSaved c; (c = committed.poll()) != null; ) listener.checkpoint(c);
    }

    /** What the manifest says about the run besides the tensors. */
    private ObjectNode info(long stepsDone) {
        ObjectNode n = JSON.createObjectNode();
        ObjectNode m = n.putObject("model");
        m.put("n_layer", model.nLayer());
        m.put("n_head", model.nHead());
        m.put("n_embd", model.nEmbd());
        m.put("vocab_size", model.vocabSize());
        m.put("block_size", model.blockSize());
        if (model.stableEmbedding()) m.put("stable_embedding", true);
        if (cfg.model().peqa() > 0) m.put("peqa", cfg.model().peqa());
        if (model.parscale() > 1) {
            m.put("parscale", model.parscale());
            m.put("parscale_prefix", model.parscalePrefix());
        }
        dev.tandem.ckpt.MoEJson.write(m, model.moe());
        n.set("plan", cfg.parallel().toJson());
        n.put("batch_size", cfg.data().batchSize());
        ObjectNode opt = n.putObject("optimizer");
        opt.put("name", cfg.optim().name());
        opt.put("steps", optimizer.steps());
        opt.set("settings", cfg.toJsonTree().get("optim"));
        ObjectNode rng = n.putObject("rng");
        rng.put("init_seed", initSeed);
        ObjectNode data = rng.putObject("data_position");
        data.put("seed", dataSeed);
        data.put("step", stepsDone);
        rng.put("note", "the model has no dropout and sampling is not part of training: the only randomness is the "
                + "initialization (init_seed) and the batch order, a pure function of data_position");
        n.set("train_config", cfg.toJsonTree());
        return n;
    }

    /** Waits for every save to be on disk, then writes the blocked-time statistics (rank 0). */
    void finish(Path runDir) {
        if (saver == null) return;
        saver.close();
        List<Double> blocked = saver.blockedMillisPerSave();
        if (world.rank() != 0 || blocked.isEmpty()) return;
        double[] sorted = blocked.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double median = sorted[sorted.length / 2], total = blocked.stream().mapToDouble(Double::doubleValue).sum();
        double background = saver.backgroundCpuMillis();
        out.printf("checkpoints: %d saved (%s), training blocked %.1f ms per save (median), %.0f ms in all; %.0f ms of CPU in "
                + "background threads%n", blocked.size(), async ? "async" : "sync", median, total, background);
        ObjectNode s = JSON.createObjectNode();
        s.put("mode", async ? "async" : "sync");
        s.put("saves", blocked.size());
        s.put("snapshot_bytes", saver.snapshotBytes());
        s.put("blocked_ms_median", median);
        s.put("blocked_ms_total", total);
        s.put("background_cpu_ms", background);
        var arr = s.putArray("blocked_ms");
        blocked.forEach(arr::add);
        dev.tandem.io.AtomicFiles.writeString(runDir.resolve("checkpoint-stats.json"), s.toPrettyString());
    }

    @Override
    public void close() {
        if (saver != null) saver.close();
    }
}
