package dev.tandem.train;

import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.data.Batch;
import dev.tandem.data.Batcher;
import dev.tandem.data.Batches;
import dev.tandem.data.DataPosition;
import dev.tandem.data.DataSource;
import dev.tandem.data.EvalBatches;
import dev.tandem.data.PackedRows;
import dev.tandem.data.TokenDataset;
import dev.tandem.data.TokenizerJson;
import dev.tandem.io.AtomicFiles;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Peqa;
import dev.tandem.nn.RouterSummary;
import dev.tandem.optim.LrSchedule;
import dev.tandem.optim.Optimizer;
import dev.tandem.offload.ByteSize;
import dev.tandem.offload.OffloadedAdamW;
import dev.tandem.offload.Tier;
import dev.tandem.parallel.MicroBatchLayout;
import dev.tandem.parallel.ParallelModel;
import dev.tandem.parallel.islands.Islands;
import dev.tandem.parallel.pipeline.BubbleReport;
import dev.tandem.plan.OuterSpec;
import dev.tandem.plan.Plan;
import dev.tandem.tensor.ComputeOptions;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.PeakFlops;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.WorkerPool;
import dev.tandem.train.config.TrainConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The training loop of one rank: data → forward/backward over micro-batches → clip → optimizer
 * step (config key {@code optimizer}), with evaluation, metrics, a loss plot and the final model
 * written as safetensors. The plan (data, tensor and pipeline parallelism, ZeRO, recompute) is
 * applied from outside by {@link ParallelModel}; a single process is the one-rank case of the same
 * mechanism. The tokens come from a {@link DataSource}: the corpus and tokenizer files of
 * {@code [data]} unless one is given.
 */
public final class Trainer {
    /** What a finished run produced. */
    public record Result(List<StepMetrics> steps, List<EvalMetrics> evals, Path runDir, Path modelDir) {
        public EvalMetrics lastEval() {
            return evals.getLast();
        }
    }

    private final TrainConfig cfg;
    private final DataSource source;
    private final PrintStream out;
    private final boolean tty;
    private final ProcessGroup world;
    private final int threads;
    private final List<TrainingListener> extraListeners;
    private final FaultDrill drill;
    /** The process's resident set just before the model was loaded, from the OS; -1 where there is no /proc. */
    private long rssBeforeModel = -1;

    /**
     * @param world the ranks of this job (a one-rank group for a single process); rank 0 prints
     *              and writes the run's files
     */
    public Trainer(TrainConfig cfg, PrintStream out, boolean tty, ProcessGroup world) {
        this(cfg, out, tty, world, ComputeOptions.defaults().threads());
    }

    /** @param threads this rank's compute threads where the config's {@code run.threads} is 0 (e.g. the CPUs it is bound to) */
    public Trainer(TrainConfig cfg, PrintStream out, boolean tty, ProcessGroup world, int threads) {
        this(cfg, CorpusSource.of(cfg.data(), null), out, tty, world, threads, List.of());
    }

    /** The same, with {@code listeners} told of the run's progress on rank 0, after the metrics log and the TensorBoard events. */
    public Trainer(TrainConfig cfg, PrintStream out, boolean tty, ProcessGroup world, List<TrainingListener> listeners) {
        this(cfg, CorpusSource.of(cfg.data(), null), out, tty, world, ComputeOptions.defaults().threads(), listeners);
    }

    /**
     * The most general form: training on the tokens of {@code data} instead of {@code [data]}'s
     * corpus (whose {@code val_fraction} and {@code batch_size} still apply), with this rank's
     * default threads and the extra listeners.
     */
    public Trainer(TrainConfig cfg, DataSource data, PrintStream out, boolean tty, ProcessGroup world, int threads,
                   List<TrainingListener> listeners) {
        this(cfg, data, out, tty, world, threads, listeners, FaultDrill.NONE);
    }

    /** The most general form with a fault drill: {@code drill} slows one rank on purpose (docs/FAULTS.md). */
    public Trainer(TrainConfig cfg, DataSource data, PrintStream out, boolean tty, ProcessGroup world, int threads,
                   List<TrainingListener> listeners, FaultDrill drill) {
        this.cfg = cfg;
        this.drill = drill;
        this.source = data;
        this.world = world;
        this.threads = threads;
        this.out = world.rank() == 0 ? out : new PrintStream(java.io.OutputStream.nullOutputStream());
        this.tty = tty && world.rank() == 0;
        this.extraListeners = List.copyOf(listeners);
    }

    /** Trains in this process alone (a one-rank world), on all available processors unless the config says. */
    public static Result runSingle(TrainConfig cfg, PrintStream out, boolean tty) {
        return runSingle(cfg, out, tty, ComputeOptions.defaults().threads());
    }

    /** Trains in this process alone, on {@code threads} threads unless the config says. */
    public static Result runSingle(TrainConfig cfg, PrintStream out, boolean tty, int threads) {
        ProcessGroup one = LocalWorld.create(1, CommOptions.defaults()).getFirst();
        try (one) {
            return new Trainer(cfg, out, tty, one, threads).run();
        }
    }

    /**
     * Trains. The rank's compute threads and kernels are set up here, for this run: every op,
     * optimizer update and gradient reduction of the run computes with them. Memory is counted in
     * the accounting current on the calling thread (the rank's: see {@link MemoryAccounting}).
     */
    public Result run() {
        Plan plan = cfg.parallel();
        plan.validate(cfg.modelSpec(cfg.data().vocabSize()), world.size(), cfg.data().batchSize());
        try (WorkerPool pool = new WorkerPool(cfg.run().threads() > 0 ? cfg.run().threads() : threads)) {
            return run(plan, Kernels.fast(pool));
        }
    }

    private Result run(Plan plan, Kernels kernels) {
        out.printf("compute: %s, %d thread(s) per rank%n", kernels.describe(), kernels.pool().threads());
        Path runDir = Path.of(cfg.run().runsDir(), cfg.run().name());
        try (RunLock lock = world.rank() == 0 ? RunLock.acquire(runDir) : null) {
            try {
                Files.createDirectories(runDir);
                if (world.rank() == 0) AtomicFiles.writeString(runDir.resolve("train-config.json"), cfg.toJson());
            } catch (IOException e) {
                throw new TandemException("cannot create run directory " + runDir + ": " + e.getMessage(), e);
            }
            return trainIn(runDir, plan, kernels);
        }
    }

    private Result trainIn(Path runDir, Plan plan, Kernels kernels) {
        // Each island is a model of its own between outer steps, so each keeps its own checkpoints.
        int island = world.rank() / plan.mesh().islandSize();
        Path ckptRoot = cfg.checkpointRoot(island);
        try (Checkpoint resume = Checkpointing.openResume(cfg, ckptRoot, plan.islands() > 1 ? "island-" + island : null, out);
             TokenDataset data = source.open(new DataSource.Context(cfg.data().valFraction(), Path.of(cfg.run().runsDir(), "cache"),
                     world.size(), out::println));
             GPT model = quantized(loadModel(cfg.gptConfig(modelVocab(data, plan)), resume));
             ParallelModel pm = ParallelModel.parallelize(model, plan, ParallelModel.mesh(world, plan), kernels);
             Islands islands = plan.outer().algorithm() == OuterSpec.Algorithm.NONE ? null : new Islands(plan.outer(), pm.acrossIslands());
             Optimizer optimizer = outer(islands, Offloading.optimizer(cfg, pm, model.config(), kernels, world.rank(), world.size(), out));
             Listeners listeners = world.rank() == 0 ? listeners(runDir, resume == null ? -1 : resume.step()) : Listeners.NONE) {
            if (resume != null) Checkpointing.requireSameTokenizer(resume, data.tokenizer(), source.tokenizerFile());
            // Resuming: parameters came in above (before the split across ranks); now the optimizer state and data position.
            DataPosition start = resume == null ? new DataPosition(cfg.run().seed(), 0)
                    : Checkpointing.restore(resume, cfg, optimizer, pm, out);
            if (start.step() >= cfg.lastStep()) {
                throw new TandemException("the checkpoint is at step " + start.step() + ", and this run ends at step " + cfg.lastStep()
                        + ": nothing to train (raise run.steps)");
            }
            Path tokenizerFile = tokenizerFile(data, runDir);
            GPTConfig mc = model.config();
            out.printf("model: GPT-2 n_layer %d, n_head %d, n_embd %d, vocab %d, block %d: %,d parameters (%,d non-embedding)%n",
                    mc.nLayer(), mc.nHead(), mc.nEmbd(), mc.vocabSize(), mc.blockSize(), mc.totalParameters(), mc.nonEmbeddingParameters());
            if (cfg.model().peqa() > 0) {
                long trainable = model.parameters().stream().filter(p -> !p.frozen()).mapToLong(dev.tandem.nn.Parameter::numel).sum();
                long packed = model.parameters().stream().filter(p -> p.quantized() != null).mapToLong(p -> p.quantized().byteSize()).sum();
                out.printf("peqa: linear layers quantized to %d bits per output channel (%,d bytes packed); training only their %,d "
                        + "scales, everything else frozen%n", cfg.model().peqa(), packed, trainable);
            }
            if (mc.moe().sparse()) {
                out.printf("experts: %d per MoE block in %d of %d blocks, top-%d, %s; %,d active non-embedding parameters per token%n",
                        mc.moe().nExperts(), mc.moe().moeLayers(mc.nLayer()), mc.nLayer(), mc.moe().topK(), mc.moe().dropless() ? "dropless"
                                : "capacity factor " + mc.moe().capacityFactor(), mc.activeNonEmbeddingParameters());
            }
            out.printf("data: %s, %,d train / %,d validation tokens, %s; %d steps × %,d tokens%n",
                    source.describe(), data.train().size(), data.validation().size(), data.tokenizer() == null
                            ? "token ids without a tokenizer (no bits per byte)"
                            : String.format("%.3f bytes/token", data.validation().bytesPerToken()), cfg.run().steps(), cfg.tokensPerStep());
            out.printf("plan: %s%n", plan.label());
            out.printf("plan: %d rank(s) = dp %d × %stp %d × pp %d%s, ZeRO stage %d, recompute %s, %d micro-batch(es) of %d sequences per "
                    + "data-parallel rank; %d threads per rank%n", world.size(), plan.dp(),
                    plan.mesh().splitsSequences() ? "cp " + plan.cp() + (plan.mesh().hdp() ? " (hdp pool)" : " (ring attention)") + " × " : "",
                    plan.tp(), plan.pp(),
                    plan.sequenceParallel() ? " (sequence parallel)" : "", plan.zero().level(), plan.recompute(), plan.microBatches(),
                    plan.rowsPerMicroBatch(cfg.data().batchSize()), kernels.pool().threads());
            if (pm.stageLayout() != null) out.printf("pipeline: %s schedule, %s%n", plan.schedule().name(), pm.stageLayout());
            if (islands != null) {
                OuterSpec o = plan.outer();
                out.printf("islands: %d of %d rank(s), outer %s every %d step(s), %d sequences per island and step; link %s, %s latency; "
                        + "the training loss per step below is island 0's, evaluations the mean over islands%n", plan.islands(),
                        plan.mesh().islandSize(), o.algorithm().configName(),
                        o.algorithm() == OuterSpec.Algorithm.SYNC ? 1 : o.steps(), cfg.data().batchSize() / plan.islands(),
                        o.link().bitsPerSecond() == 0 ? "unthrottled" : o.link().bandwidthText() + "/s", o.link().latencyText());
            }
            out.printf("optimizer: %s, %,d bytes of state on this rank%n", cfg.optim().name(),
                    MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE));
            if (cfg.optim().warmupSteps() >= cfg.run().steps()) {
                out.printf("warning: optim.warmup_steps %d >= run.steps %d, so the learning rate never reaches optim.lr %.2e "
                        + "(lower optim.warmup_steps)%n", cfg.optim().warmupSteps(), cfg.run().steps(), cfg.optim().lr());
            }
            PlanCheck check = null;
            if (world.rank() == 0) {
                check = PlanCheck.predict(cfg.modelSpec(mc.vocabSize()), plan, cfg.data().batchSize(), world.size(), kernels);
                out.println(check.predictedLine());
                check.requireFits();
            }
            world.barrier();
            Result r;
            try (Checkpointing ckpt = new Checkpointing(cfg, ckptRoot, pm.island(), pm, optimizer, mc, tokenizerFile, out,
                    resume == null ? cfg.run().seed() : Checkpointing.initSeed(resume), start.seed())) {
                listeners.started(new RunStart(runDir, mc, plan, start.step(), cfg.lastStep(),
                        check == null ? Double.NaN : check.predictedStepMs()));
                r = loop(pm, islands, optimizer, data, listeners, runDir, plan, check, ckpt, start);
                ckpt.finish(runDir);
                ckpt.reportCommitted(listeners);
                listeners.finished(r);
            }
            Path modelDir = runDir.resolve("model");
            GPT whole = pm.gatherWholeModel();
            try {
                if (world.rank() == 0) {
                    saveFinalModel(modelDir, whole, tokenizerFile);
                    out.println("model written to " + modelDir + (tokenizerFile == null ? " (no tokenizer: it generates token ids)"
                            : "  (try: ./tandem generate --checkpoint " + modelDir + " --prompt \"ROMEO:\")"));
                }
            } finally {
                pm.releaseWholeModel(whole);
            }
            world.barrier();
            return new Result(r.steps(), r.evals(), runDir, modelDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The initial model ({@link Checkpointing#initialModel}), noting first the resident set the
     * process holds without it: the JVM, the data and the run's setup, which the memory report
     * subtracts from the peak to give what the model and its training add.
     */
    private GPT loadModel(GPTConfig config, Checkpoint resume) {
        rssBeforeModel = ProcStatus.bytes("VmRSS").orElse(-1);
        return Checkpointing.initialModel(config, cfg.run().seed(), resume, cfg.model().initFrom(), cfg.model().peqa());
    }

    /** With {@code model.peqa}, the model with its linear layers quantized and all but their scales frozen ({@link Peqa}). */
    private GPT quantized(GPT model) {
        if (cfg.model().peqa() > 0) Peqa.apply(model, cfg.model().peqa());
        return model;
    }

    /**
     * The model's vocabulary, after checking the plan against it (tensor parallelism splits the
     * vocabulary): the data's, or for a model started from a directory its config.json's (which
     * may be padded beyond the tokenizer's).
     */
    private int modelVocab(TokenDataset data, Plan plan) throws IOException {
        int vocab = data.vocabSize();
        if (!cfg.model().initFrom().isEmpty()) {
            Path dir = Path.of(cfg.model().initFrom());
            vocab = dev.tandem.ckpt.HfImport.config(dir).vocabSize();
            if (data.vocabSize() > vocab) {
                throw new TandemException("the tokenizer has " + data.vocabSize() + " tokens but the model in " + cfg.model().initFrom()
                        + " has vocab_size " + vocab + ": train with the model's own tokenizer");
            }
            if (data.tokenizer() != null) dev.tandem.ckpt.HfImport.requireOwnTokenizer(dir, data.tokenizer());
        }
        if (vocab != cfg.data().vocabSize()) plan.validate(cfg.modelSpec(vocab), world.size(), cfg.data().batchSize());
        return vocab;
    }

    /**
     * Writes the trained model as a whole directory or not at all. When that fails (a full disk) the
     * newest checkpoint is the run's result, and the error says where it is and how to export it.
     */
    private void saveFinalModel(Path modelDir, GPT whole, Path tokenizerFile) {
        try {
            AtomicFiles.writeDirectory(modelDir, tmp -> ModelFiles.save(tmp, whole, tokenizerFile));
        } catch (TandemException e) {
            Checkpoint newest = Checkpoints.latest(cfg.checkpointRoot(0), s -> { }); // rank 0 writes island 0's model
            if (newest == null) throw e;
            try (newest) {
                throw new TandemException(e.getMessage() + ". The trained weights are safe in checkpoint " + newest.dir() + " (step "
                        + newest.step() + "): ./tandem export --checkpoint " + newest.dir() + " --hf " + modelDir
                        + " writes the model once there is room", e);
            }
        }
    }

    /**
     * The tokenizer.json to keep next to the model and in checkpoints: the source's file, or the
     * dataset's tokenizer written into the run directory by rank 0; null for token ids without one.
     */
    private Path tokenizerFile(TokenDataset data, Path runDir) {
        Path file = source.tokenizerFile();
        if (file != null || data.tokenizer() == null) return file;
        file = runDir.resolve(ModelFiles.TOKENIZER);
        if (world.rank() == 0) TokenizerJson.save(data.tokenizer(), file);
        return file;
    }

    /** Rank 0's listeners: the metrics log, the TensorBoard events (unless run.tensorboard is false), then those given to the constructor. */
    private Listeners listeners(Path runDir, long resumedAt) throws IOException {
        List<TrainingListener> all = new ArrayList<>();
        all.add(new MetricsLog(runDir.resolve("metrics.jsonl"), resumedAt));
        if (cfg.run().tensorboard()) all.add(new TensorBoardLog(runDir.resolve("tb")));
        all.addAll(extraListeners);
        return new Listeners(all);
    }

    /** {@code inner} under the plan's outer algorithm (DiLoCo, NoLoCo), or as it is. */
    private static Optimizer outer(Islands islands, Optimizer inner) {
        return islands == null ? inner : islands.wrap(inner);
    }

    private Result loop(ParallelModel pm, Islands islands, Optimizer optimizer, TokenDataset data, Listeners listeners, Path runDir,
                        Plan plan, PlanCheck check, Checkpointing ckpt, DataPosition start) throws IOException {
        int batch = cfg.data().batchSize(), block = cfg.model().blockSize();
        int rows = plan.rowsPerMicroBatch(batch);
        int rankRows = rows * plan.microBatches();
        // The same validation windows (or packed rows) whatever the plan (eval_batches × batch_size of them), in
        // batches of a micro-batch's rows; every rank evaluates them all, as the model's collectives need.
        TokenDataset.Documents docs = data.documents();
        Batches batcher;
        Iterable<Batch> evalBatches;
        if (docs == null) {
            batcher = new Batcher(data.train(), batch, block, start.seed());
            evalBatches = new EvalBatches(data.validation(), rows, block, cfg.eval().batches() * batch);
        } else {
            PackedRows train = new PackedRows("train", docs.train(), block, data.train()::tokenBytes);
            PackedRows validation = new PackedRows("validation", docs.validation(), block, data.validation()::tokenBytes);
            out.printf("documents: %,d train / %,d validation, packed into %,d / %,d rows of %d tokens (attention and positions per "
                    + "document)%n", docs.train().count(), docs.validation().count(), train.count(), validation.count(), block);
            batcher = train.sampler(start.seed(), batch);
            evalBatches = validation.evalBatches(rows, cfg.eval().batches() * batch);
        }
        DocumentSequences hybrid = plan.mesh().hdp() ? new DocumentSequences(docs.train(), batch, start.seed(), block, plan.cp()) : null;
        int capacity = DocumentSequences.capacity(block, plan.cp());
        if (hybrid != null) {
            out.printf("hdp: %d whole documents per step over a pool of %d ranks, each on ⌈length / %d⌉ of them (ring attention "
                    + "when more than one), balanced by estimated compute%n", batch, plan.dp() * plan.cp(), capacity);
        }
        LrSchedule schedule = cfg.optim().lrSchedule(cfg.run().steps());
        double flopsPerToken = pm.model().config().trainingFlopsPerToken(block);
        // Peak of this rank's threads, times the ranks: the job's peak on this host.
        double peak = PeakFlops.measured(pm.kernels().pool()) * world.size();
        out.printf("MFU reference: measured peak %.1f GFLOP/s (FMA probe, %d rank(s) × %d threads); %.1f MFLOP per token%n",
                peak / 1e9, world.size(), pm.kernels().pool().threads(), flopsPerToken / 1e6);
        List<StepMetrics> steps = new ArrayList<>();
        List<EvalMetrics> evals = new ArrayList<>();
        List<LossPlot.Point> trainPts = new ArrayList<>(), valPts = new ArrayList<>();
        Progress progress = new Progress(out, tty, cfg.run().steps(), cfg.run().logEvery());
        List<Tensor> ids = new ArrayList<>(), targets = new ArrayList<>();
        List<Double> bubbles = new ArrayList<>();
        List<Double> optimizerMs = new ArrayList<>();
        MemoryAccounting memory = MemoryAccounting.current();
        ProcessGroup island = pm.island();
        SlowRankEviction eviction = cfg.run().evictSlowAfter() > 0 ? new SlowRankEviction(cfg.run().evictSlowAfter()) : null;
        HealthWatch health = island.size() > 1 ? new HealthWatch(island, world.opLog(), plan.dp() * plan.cp() * plan.tp(), cfg.run().linkProbeEvery(), out) : null;
        try {
            for (int micro = 0; micro < plan.microBatches(); micro++) {
                ids.add(Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, rows, block));
                targets.add(Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, rows, block));
            }
            double lastBusyMs = 0, trainLossSinceEval = 0;
            long stepsSinceEval = 0;
            for (long step = start.step(); step < cfg.lastStep(); step++) {
                long t0 = System.nanoTime(), inOps0 = world.opLog().nanosInOps();
                long slept = drill.slows(world.rank()) ? drill.work(lastBusyMs) : 0;
                memory.resetPeaks();
                pm.zeroGrad();
                // Offloaded optimizer state starts moving into the fast tier now, behind forward and backward.
                if (optimizer instanceof OffloadedAdamW o) o.prepare();
                pm.takeBlockedMillis();
                // Data-parallel replicas take disjoint rows of the global batch; tensor- and pipeline-parallel
                // ranks of one replica read the same rows.
                double loss = hybrid != null ? pm.hybridStep(hybrid.step(step), capacity)
                        : pm.forwardBackward(ids, targets, microBatches(batcher, step, pm.dataRank() * rankRows, rows, ids, targets, docs != null));
                if (islands != null) islands.afterBackward(pm.optimizerSlices());
                RouterSummary router = pm.takeRouterSummary();
                if (pm.lastBubble() != null) bubbles.add(pm.lastBubble().measured());
                double norm = pm.clipGradients(cfg.optim().gradClip());
                float lr = schedule.at(step);
                ckpt.beforeOptimizerStep();
                long optStart = System.nanoTime();
                optimizer.step(lr);
                optimizerMs.add((System.nanoTime() - optStart) / 1e6);
                pm.afterOptimizerStep();
                ckpt.afterOptimizerStep(step + 1);
                double seconds = (System.nanoTime() - t0) / 1e9;
                lastBusyMs = (System.nanoTime() - t0 - slept - (world.opLog().nanosInOps() - inOps0)) / 1e6;
                double tokPerSec = cfg.tokensPerStep() / seconds;
                Map<MemoryCategory, Long> mem = memory.snapshot();
                mem.put(MemoryCategory.ACTIVATIONS, memory.peak(MemoryCategory.ACTIVATIONS));
                mem.put(MemoryCategory.COMMUNICATION, memory.peak(MemoryCategory.COMMUNICATION));
                StepHealth slow = health == null ? null : health.afterStep(step + 1);
                StepMetrics m = new StepMetrics(step + 1, loss, norm, lr, seconds * 1e3, tokPerSec, tokPerSec * flopsPerToken / peak,
                        pm.takeBlockedMillis(), mem, islands == null ? StepMetrics.NO_ISLANDS : islands.takeBytesSent(), router, slow);
                if (!Double.isFinite(loss)) {
                    throw new TandemException("loss became " + loss + " at step " + (step + 1) + ": lower optim.lr (now " + cfg.optim().lr() + ")");
                }
                steps.add(m);
                if (steps.size() == 1) FastTier.overBudget(m, cfg.memory().budgetBytes()).ifPresent(out::println);
                trainPts.add(new LossPlot.Point(step + 1, loss));
                listeners.step(m);
                progress.step(m);
                boolean last = step == cfg.lastStep() - 1;
                trainLossSinceEval += loss;
                stepsSinceEval++;
                if (last || (cfg.eval().every() > 0 && (step + 1) % cfg.eval().every() == 0)) {
                    EvalMetrics e = Validation.evaluate(pm, evalBatches, step + 1);
                    if (islands != null && plan.islands() > 1) e = Validation.overIslands(islands, e, trainLossSinceEval / stepsSinceEval);
                    trainLossSinceEval = 0;
                    stepsSinceEval = 0;
                    evals.add(e);
                    valPts.add(new LossPlot.Point(step + 1, e.loss()));
                    listeners.eval(e);
                    progress.println(e.line());
                }
                ckpt.reportCommitted(listeners);
                if (eviction != null && slow != null) eviction.afterStep(slow, step + 1, ckpt, world, runDir, listeners);
            }
        } finally {
            if (health != null) health.close();
            ids.forEach(Tensor::close);
            targets.forEach(Tensor::close);
        }
        progress.finish();
        if (optimizer instanceof OffloadedAdamW o && o.tier() != null) {
            Tier.Traffic io = o.tier().traffic();
            long n = cfg.lastStep() - start.step();
            out.printf(java.util.Locale.ROOT, "memory tiers: %s read %s and written %s per step (this rank); fast tier peak %s accounted%n",
                    o.tier().spec().name(), ByteSize.format((double) io.readBytes() / n), ByteSize.format((double) io.writtenBytes() / n),
                    ByteSize.format(FastTier.peak(steps)));
        }
        MemoryReport.write(runDir.resolve("memory-rank" + world.rank() + ".json"), steps.getLast().memoryBytes(), pm.dataParallel(),
                optimizer, optimizerMs.stream().sorted().toList().get(optimizerMs.size() / 2), steps.size(), rssBeforeModel);
        if (world.rank() == 0) {
            LossPlot.write(runDir.resolve("loss.png"), "Tandem: " + cfg.run().name(), trainPts, valPts);
            StepSummary.print(out, steps, evals, runDir);
            if (!bubbles.isEmpty()) {
                BubbleReport last = pm.lastBubble();
                out.printf(java.util.Locale.ROOT, "pipeline bubble (this rank, %s): median %.3f over %d steps; simulated %.3f, formula "
                        + "(p-1)/(v·m) %.3f; last step: %s%n", last.schedule(), bubbles.stream().sorted().toList().get(bubbles.size() / 2),
                        bubbles.size(), last.simulated(), last.formula(), last.line());
            }
            out.println(check.comparisonLine(StepSummary.medianStepMs(steps), steps.getLast().memoryBytes()));
        }
        return new Result(steps, evals, runDir, null);
    }

    /**
     * Fills this rank's micro-batches of {@code step} (rows from {@code firstRow}) into {@code ids}
     * and {@code targets}; returns their layouts. Packed rows count different targets (their
     * padding does not count), so each micro-batch is weighted by its counted targets over the mean
     * per micro-batch of the whole step, which every rank counts alike.
     */
    private List<MicroBatchLayout> microBatches(Batches batcher, long step, int firstRow, int rows, List<Tensor> ids, List<Tensor> targets,
                                                boolean packed) {
        int batch = cfg.data().batchSize();
        double perMicroBatch = packed ? (double) batcher.batch(step, 0, batch).counted() / (batch / rows) : 0;
        List<MicroBatchLayout> layouts = new ArrayList<>();
        for (int micro = 0; micro < ids.size(); micro++) {
            Batch b = batcher.batch(step, firstRow + micro * rows, rows);
            b.copyTo(ids.get(micro), targets.get(micro));
            layouts.add(packed ? new MicroBatchLayout(Validation.sequences(b), b.counted() / perMicroBatch) : MicroBatchLayout.WHOLE);
        }
        return layouts;
    }

}
