package dev.tandem.train;

import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.data.Batch;
import dev.tandem.data.Batcher;
import dev.tandem.data.BpeTrainer;
import dev.tandem.data.Corpus;
import dev.tandem.data.DataPosition;
import dev.tandem.data.EvalBatches;
import dev.tandem.data.TokenDataset;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.optim.LrSchedule;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.Optimizers;
import dev.tandem.parallel.ParallelModel;
import dev.tandem.parallel.pipeline.BubbleReport;
import dev.tandem.parallel.Plan;
import dev.tandem.tensor.ComputeOptions;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.PeakFlops;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.WorkerPool;
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
 * mechanism.
 */
public final class Trainer {
    /** What a finished run produced. */
    public record Result(List<StepMetrics> steps, List<EvalMetrics> evals, Path runDir, Path modelDir) {
        public EvalMetrics lastEval() {
            return evals.getLast();
        }
    }

    private final TrainConfig cfg;
    private final PrintStream out;
    private final boolean tty;
    private final ProcessGroup world;
    private final int threads;

    /**
     * @param world the ranks of this job (a one-rank group for a single process); rank 0 prints
     *              and writes the run's files
     */
    public Trainer(TrainConfig cfg, PrintStream out, boolean tty, ProcessGroup world) {
        this(cfg, out, tty, world, ComputeOptions.defaults().threads());
    }

    /** @param threads this rank's compute threads where the config's {@code threads} is 0 (e.g. the CPUs it is bound to) */
    public Trainer(TrainConfig cfg, PrintStream out, boolean tty, ProcessGroup world, int threads) {
        this.cfg = cfg;
        this.world = world;
        this.threads = threads;
        this.out = world.rank() == 0 ? out : new PrintStream(java.io.OutputStream.nullOutputStream());
        this.tty = tty && world.rank() == 0;
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
        Plan plan = cfg.parallelPlan();
        plan.validate(world.size(), cfg.batchSize());
        try (WorkerPool pool = new WorkerPool(cfg.threads() > 0 ? cfg.threads() : threads)) {
            return run(plan, Kernels.fast(pool));
        }
    }

    private Result run(Plan plan, Kernels kernels) {
        Path runDir = Path.of(cfg.runsDir(), cfg.name());
        try {
            Files.createDirectories(runDir);
            if (world.rank() == 0) Files.writeString(runDir.resolve("train-config.json"), cfg.toJson());
        } catch (IOException e) {
            throw new TandemException("cannot create run directory " + runDir + ": " + e.getMessage(), e);
        }
        Path corpus = InputPaths.resolve(cfg.corpus(), "corpus");
        Path tokenizerFile = InputPaths.resolveOutput(cfg.tokenizer());
        Tokenizer tokenizer = loadOrTrainTokenizer(corpus, tokenizerFile);
        try (Checkpoint resume = Checkpointing.openResume(cfg, out);
             TokenDataset data = TokenDataset.open(corpus, tokenizer, Path.of(cfg.runsDir(), "cache"), cfg.valFraction(), out::println);
             GPT model = Checkpointing.initialModel(new GPTConfig(cfg.nLayer(), cfg.nHead(), cfg.nEmbd(), tokenizer.vocabSize(),
                     cfg.blockSize(), cfg.stableEmbedding()), cfg.seed(), resume);
             ParallelModel pm = ParallelModel.parallelize(model, plan, ParallelModel.mesh(world, plan), kernels);
             Optimizer optimizer = Optimizers.create(cfg.optimizer(), cfg.optimizerSettings(), pm.optimizerSlices(), kernels);
             MetricsLog metrics = world.rank() == 0 ? new MetricsLog(runDir.resolve("metrics.jsonl"), resume != null) : null) {
            // Resuming: parameters came in above (before the split across ranks); now the optimizer state and data position.
            DataPosition start = resume == null ? new DataPosition(cfg.seed(), 0)
                    : Checkpointing.restore(resume, cfg, optimizer, pm, out);
            if (start.step() >= cfg.lastStep()) {
                throw new TandemException("the checkpoint is at step " + start.step() + ", and this run ends at step " + cfg.lastStep()
                        + ": nothing to train (raise steps)");
            }
            GPTConfig mc = model.config();
            out.printf("model: GPT-2 n_layer %d, n_head %d, n_embd %d, vocab %d, block %d: %,d parameters (%,d non-embedding)%n",
                    mc.nLayer(), mc.nHead(), mc.nEmbd(), mc.vocabSize(), mc.blockSize(), mc.totalParameters(), mc.nonEmbeddingParameters());
            out.printf("data: %s, %,d train / %,d validation tokens, %.3f bytes/token; %d steps × %,d tokens%n",
                    corpus, data.train().size(), data.validation().size(), data.validation().bytesPerToken(), cfg.steps(),
                    cfg.tokensPerStep());
            out.printf("plan: %d rank(s) = dp %d × tp %d × pp %d%s, ZeRO stage %d, recompute %s, %d micro-batch(es) of %d sequences per "
                    + "data-parallel rank; %d threads per rank%n", world.size(), plan.dp(), plan.tp(), plan.pp(),
                    plan.sequenceParallel() ? " (sequence parallel)" : "", plan.zeroStage(), plan.recompute(), plan.microBatches(),
                    plan.rowsPerMicroBatch(cfg.batchSize()), kernels.pool().threads());
            if (pm.stageLayout() != null) out.printf("pipeline: %s schedule, %s%n", plan.schedule(), pm.stageLayout());
            out.printf("optimizer: %s, %,d bytes of state on this rank%n", cfg.optimizer(),
                    MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE));
            PlanCheck check = null;
            if (world.rank() == 0) {
                check = PlanCheck.predict(mc, plan, cfg.batchSize(), world.size(), kernels);
                out.println(check.predictedLine());
            }
            world.barrier();
            Result r;
            try (Checkpointing ckpt = new Checkpointing(cfg, world, pm, optimizer, mc, tokenizerFile, out,
                    resume == null ? cfg.seed() : Checkpointing.initSeed(resume), start.seed())) {
                r = loop(pm, optimizer, data, metrics, runDir, plan, check, ckpt, start);
                ckpt.finish(runDir);
            }
            Path modelDir = runDir.resolve("model");
            GPT whole = pm.gatherWholeModel();
            try {
                if (world.rank() == 0) {
                    ModelFiles.save(modelDir, whole, tokenizerFile);
                    out.println("model written to " + modelDir + "  (try: ./tandem generate --checkpoint " + modelDir + " --prompt \"ROMEO:\")");
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

    private Tokenizer loadOrTrainTokenizer(Path corpus, Path file) {
        if (Files.isRegularFile(file)) {
            Tokenizer t = TokenizerJson.load(file);
            out.printf("tokenizer: %s (vocab %d)%n", file, t.vocabSize());
            return t;
        }
        if (world.size() > 1) {
            throw new TandemException("tokenizer " + file + " does not exist; train it first with "
                    + "'./tandem tokenizer train' (ranks must not each train their own)");
        }
        out.printf("tokenizer: %s not found; training a byte-level BPE with vocab %d on %s%n", file, cfg.vocabSize(), corpus);
        Corpus text = Corpus.read(corpus);
        Tokenizer t = BpeTrainer.train(text.text(), cfg.vocabSize(), BpeTrainer.Progress.NONE);
        try {
            if (file.getParent() != null) Files.createDirectories(file.getParent());
        } catch (IOException e) {
            throw new TandemException("cannot create " + file.getParent() + ": " + e.getMessage(), e);
        }
        TokenizerJson.save(t, file);
        out.println("tokenizer: saved to " + file);
        return t;
    }

    private Result loop(ParallelModel pm, Optimizer optimizer, TokenDataset data, MetricsLog metrics, Path runDir,
                        Plan plan, PlanCheck check, Checkpointing ckpt, DataPosition start) throws IOException {
        int rows = plan.rowsPerMicroBatch(cfg.batchSize());
        int rankRows = rows * plan.microBatches();
        Batcher batcher = new Batcher(data.train(), cfg.batchSize(), cfg.blockSize(), start.seed());
        // The same validation windows whatever the plan (eval_batches × batch_size of them), in batches of a
        // micro-batch's rows; every rank evaluates them all, as the model's collectives need.
        EvalBatches evalBatches = new EvalBatches(data.validation(), rows, cfg.blockSize(), cfg.evalBatches() * cfg.batchSize());
        LrSchedule schedule = LrSchedule.named(cfg.schedule(), cfg.lr(), cfg.minLr(), cfg.warmupSteps(), cfg.steps(), cfg.decayFraction());
        double flopsPerToken = pm.model().config().trainingFlopsPerToken(cfg.blockSize());
        // Peak of this rank's threads, times the ranks: the job's peak on this host.
        double peak = PeakFlops.measured(pm.kernels().pool()) * world.size();
        out.printf("MFU reference: measured peak %.1f GFLOP/s (FMA probe, %d rank(s) × %d threads); %.1f MFLOP per token%n",
                peak / 1e9, world.size(), pm.kernels().pool().threads(), flopsPerToken / 1e6);
        List<StepMetrics> steps = new ArrayList<>();
        List<EvalMetrics> evals = new ArrayList<>();
        List<LossPlot.Point> trainPts = new ArrayList<>(), valPts = new ArrayList<>();
        Progress progress = new Progress(out, tty, cfg.steps(), cfg.logEvery());
        List<Tensor> ids = new ArrayList<>(), targets = new ArrayList<>();
        List<Double> bubbles = new ArrayList<>();
        MemoryAccounting memory = MemoryAccounting.current();
        try {
            for (int micro = 0; micro < plan.microBatches(); micro++) {
                ids.add(Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, rows, cfg.blockSize()));
                targets.add(Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, rows, cfg.blockSize()));
            }
            for (long step = start.step(); step < cfg.lastStep(); step++) {
                long t0 = System.nanoTime();
                memory.resetPeaks();
                pm.zeroGrad();
                pm.takeBlockedMillis();
                // Data-parallel replicas take disjoint rows of the global batch; tensor- and pipeline-parallel
                // ranks of one replica read the same rows.
                for (int micro = 0; micro < plan.microBatches(); micro++) {
                    batcher.batch(step, pm.dataRank() * rankRows + micro * rows, rows).copyTo(ids.get(micro), targets.get(micro));
                }
                double loss = pm.forwardBackward(ids, targets);
                if (pm.lastBubble() != null) bubbles.add(pm.lastBubble().measured());
                double norm = pm.clipGradients(cfg.gradClip());
                float lr = schedule.at(step);
                ckpt.beforeOptimizerStep();
                optimizer.step(lr);
                pm.afterOptimizerStep();
                ckpt.afterOptimizerStep(step + 1);
                double seconds = (System.nanoTime() - t0) / 1e9;
                double tokPerSec = cfg.tokensPerStep() / seconds;
                Map<MemoryCategory, Long> mem = memory.snapshot();
                mem.put(MemoryCategory.ACTIVATIONS, memory.peak(MemoryCategory.ACTIVATIONS));
                mem.put(MemoryCategory.COMMUNICATION, memory.peak(MemoryCategory.COMMUNICATION));
                StepMetrics m = new StepMetrics(step, loss, norm, lr, seconds * 1e3, tokPerSec, tokPerSec * flopsPerToken / peak,
                        pm.takeBlockedMillis(), mem);
                if (!Double.isFinite(loss)) {
                    throw new TandemException("loss became " + loss + " at step " + (step + 1) + ": lower lr (now " + cfg.lr() + ")");
                }
                steps.add(m);
                trainPts.add(new LossPlot.Point(step + 1, loss));
                if (metrics != null) metrics.step(m);
                progress.step(m);
                boolean last = step == cfg.lastStep() - 1;
                if (last || (cfg.evalEvery() > 0 && (step + 1) % cfg.evalEvery() == 0)) {
                    EvalMetrics e = evaluate(pm, evalBatches, step + 1);
                    evals.add(e);
                    valPts.add(new LossPlot.Point(step + 1, e.loss()));
                    if (metrics != null) metrics.eval(e);
                    progress.println(e.line());
                }
            }
        } finally {
            ids.forEach(Tensor::close);
            targets.forEach(Tensor::close);
        }
        progress.finish();
        MemoryReport.write(runDir.resolve("memory-rank" + world.rank() + ".json"), steps.getLast().memoryBytes(), pm.dataParallel());
        if (world.rank() == 0) {
            LossPlot.write(runDir.resolve("loss.png"), "Tandem: " + cfg.name(), trainPts, valPts);
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

    /** Mean validation loss (nats/token) and bits per byte over the fixed evaluation windows. */
    static EvalMetrics evaluate(ParallelModel pm, EvalBatches batches, long step) {
        double nats = 0;
        long tokens = 0, bytes = 0;
        for (Batch b : batches) {
            try (Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, b.rows(), b.blockSize());
                 Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, b.rows(), b.blockSize())) {
                b.copyTo(ids, targets);
                nats += pm.evaluate(ids, targets) * b.tokens();
                tokens += b.tokens();
                bytes += b.targetBytes();
            }
        }
        return new EvalMetrics(step, nats / tokens, nats / (Math.log(2) * bytes), tokens);
    }
}
