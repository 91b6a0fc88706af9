package dev.tandem.parallel;

import dev.tandem.TandemException;
import dev.tandem.comm.Mesh;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.nn.GPT;
import dev.tandem.nn.MoEConfig;
import dev.tandem.nn.RouterStats;
import dev.tandem.nn.RouterSummary;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Sequences;
import dev.tandem.nn.Tape;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamSlice;
import dev.tandem.parallel.context.BalanceScheduler;
import dev.tandem.parallel.context.HybridStep;
import dev.tandem.parallel.context.SequenceCost;
import dev.tandem.parallel.context.StepSchedule;
import dev.tandem.parallel.context.TokenSequence;
import dev.tandem.parallel.pipeline.BubbleReport;
import dev.tandem.parallel.pipeline.Pipeline;
import dev.tandem.parallel.pipeline.PipelineSchedule;
import dev.tandem.parallel.pipeline.StageLayout;
import dev.tandem.plan.Offload;
import dev.tandem.plan.Plan;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.plan.TrainingPrecision;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.Tensor;
import java.util.List;
import java.util.function.Predicate;

/**
 * A GPT wrapped for a {@link Plan} on a {@link Mesh}, the strategies applied from outside in a
 * fixed order: tensor parallelism splits the parameters, the pipeline keeps this rank's stage
 * (and frees the rest), activation recomputation is chosen per block (through the ops the model
 * runs on), then data parallelism (ZeRO) shards what the rank holds. The training loop drives a
 * step through this class and never asks which strategies are on: the same calls run one rank or
 * a dp × tp × pp grid.
 *
 * <p>Ranks are laid out tensor-parallel fastest, then data-parallel, then pipeline (Megatron-LM's
 * order, the planner's too), so a tensor-parallel group is a run of neighbouring ranks.
 *
 * <p>Each parameter element is held by several ranks (replicas), and exactly one of them
 * <em>owns</em> it: it counts that element in the global gradient norm and saves it in a
 * checkpoint ({@link #owns}); each strategy says which of its copies count.
 */
public final class ParallelModel implements AutoCloseable {
    private final GPT model;
    private final Mesh mesh;
    private final TensorParallel tp; // null when plan.tp() == 1
    private final Pipeline pipeline; // null when plan.pp() == 1
    private final DataParallel dp;
    private final RecomputePolicy recompute;
    private final Kernels kernels;
    private final RouterStats router; // null for a dense model
    private final ExpertParallel experts; // null unless the plan spreads experts over ranks
    private final ContextParallel context; // null when plan.cp() == 1 or hdp
    private final HybridStep hybrid; // null unless plan.hdp

    private ParallelModel(GPT model, Plan plan, Mesh mesh, Kernels kernels) {
        requireSupported(plan);
        requireComposes(model.config().moe(), plan);
        this.router = model.config().moe().sparse() ? new RouterStats(model.config().moe().nExperts()) : null;
        this.model = model;
        this.mesh = mesh;
        this.kernels = kernels;
        this.recompute = plan.recompute();
        this.tp = plan.tp() > 1 ? TensorParallel.apply(model, mesh.group("tp"), plan.sequenceParallel()) : null;
        this.context = plan.cp() > 1 && !plan.mesh().hdp() ? new ContextParallel(mesh.group("cp")) : null;
        Predicate<Parameter> whole = Optimizers.updatedWhole(plan.optimizer().name());
        if (plan.pp() > 1) {
            int v = plan.virtualStages();
            StageLayout layout = plan.stageLayers().isEmpty()
                    ? StageLayout.balanced(model.config(), model.config().blockSize(), plan.pp(), v)
                    : StageLayout.of(model.config(), model.config().blockSize(), plan.pp(), v,
                            plan.stageLayers().stream().mapToInt(Integer::intValue).toArray());
            pipeline = Pipeline.apply(model, mesh.group("pp"), layout, PipelineSchedule.of(plan.schedule()), this::ops,
                    plan.sequenceParallel() ? plan.tp() : 1);
            dp = DataParallel.apply(model, mesh.group("dp"), plan.zero(), pipeline.modules(), whole, kernels);
            experts = null;
        } else {
            pipeline = null;
            // Experts spread over ranks first, so data parallelism wraps only what every replica holds.
            experts = plan.experts().spread() ? ExpertParallel.apply(model, mesh.group("dp"), plan.experts(), kernels) : null;
            // The ranks of a cp group (or of the hdp pool) each compute part of a replica's gradient:
            // gradients are reduced, and ZeRO shards, over dp·cp.
            dp = experts == null ? DataParallel.apply(model, plan.mesh().splitsSequences() ? mesh.groupSpanning(List.of("dp", "cp")) : mesh.group("dp"),
                    plan.zero(), whole, kernels)
                    : DataParallel.applyExcept(model, mesh.group("dp"), plan.zero(), whole, experts::manages, kernels);
        }
        // hdp: the dp·cp ranks are one pool; the step runs without data-parallel hooks and sums the gradients itself.
        this.hybrid = plan.mesh().hdp() ? new HybridStep(dp.group(), kernels, recompute) : null;
    }

    /**
     * Refuses what the plan type can say but this runtime does not do yet (the planner prices it);
     * a training config calls this when it loads, so the error comes before any rank starts.
     */
    public static void requireSupported(Plan plan) {
        if (plan.offload() == Offload.OPTIMIZER && !plan.optimizer().name().equals("adamw")) {
            throw new TandemException("offload = optimizer runs with optimizer adamw (its state is what moves between memory tiers), "
                    + "but the plan's optimizer is " + plan.optimizer().name() + ": use optim.name = adamw or offload = none");
        }
        if (plan.attention() == dev.tandem.plan.AttentionKernel.FLASH && plan.recompute().heaviest() == dev.tandem.plan.Recompute.NONE) {
            throw new TandemException("attention = flash keeps one log-sum-exp per query instead of the probabilities; the runtime's "
                    + "attention does that under recompute = selective, but recompute = none keeps the probabilities: set recompute = "
                    + "selective (or attention = materialized)");
        }
        if (plan.precision() != TrainingPrecision.FP32) {
            throw new TandemException("precision = " + plan.precision().configName() + " is priced by the planner, but the runtime "
                    + "trains in float32: use precision = fp32");
        }
    }

    /**
     * Refuses an MoE model with what does not compose with experts yet: tensor parallelism (the
     * experts' MLPs are not split) and pipelines (the router losses are seeded per micro-batch by
     * the loss, which a pipeline stage does not see).
     */
    public static void requireComposes(MoEConfig moe, Plan plan) {
        if (!moe.sparse()) {
            if (plan.experts().spread()) {
                throw new TandemException("parallel.ep = " + plan.ep() + " / parallel.moe = " + plan.experts().mode().configName()
                        + " spreads experts, but the model has none: set model.n_experts, or ep = 1 and moe = ep");
            }
            return;
        }
        if (moe.nExperts() % plan.ep() != 0) {
            throw new TandemException("model.n_experts = " + moe.nExperts() + " is not divisible by parallel.ep = " + plan.ep()
                    + ": each rank of an expert group holds n_experts / ep experts; choose ep dividing n_experts");
        }
        if (plan.tp() > 1 || plan.pp() > 1) {
            throw new TandemException("a model with experts (model.n_experts = " + moe.nExperts() + ") trains with data parallelism "
                    + "(and ZeRO) only so far, not tp = " + plan.tp() + ", pp = " + plan.pp() + ": use tp = 1 and pp = 1");
        }
    }

    /** The mesh of {@code plan} over {@code world}: axes island, pp, dp, cp, tp (tp fastest, islands slowest). */
    public static Mesh mesh(ProcessGroup world, Plan plan) {
        return Mesh.create(world, List.of(new Mesh.Axis("island", plan.islands()), new Mesh.Axis("pp", plan.pp()),
                new Mesh.Axis("dp", plan.dp()), new Mesh.Axis("cp", plan.cp()), new Mesh.Axis("tp", plan.tp())));
    }

    /** The axes inside one island: a group spanning them is this rank's island. */
    private static final List<String> ISLAND_AXES = List.of("pp", "dp", "cp", "tp");

    /**
     * Applies {@code plan} to {@code model}, which must hold the same whole parameters on every rank.
     * The model's parameters move into storage owned by the result, which must be closed before the
     * model; closing it also closes {@code mesh}'s groups. The model computes with {@code kernels}
     * (the rank's provider).
     */
    public static ParallelModel parallelize(GPT model, Plan plan, Mesh mesh, Kernels kernels) {
        return new ParallelModel(model, plan, mesh, kernels);
    }

    public GPT model() {
        return model;
    }

    /** The kernels this rank's model and gradients compute with. */
    public Kernels kernels() {
        return kernels;
    }

    public DataParallel dataParallel() {
        return dp;
    }

    /** The tensor-parallel strategy, or null when the plan has tp = 1. */
    public TensorParallel tensorParallel() {
        return tp;
    }

    /** This rank's index among the data-parallel replicas of all islands: which rows of the batch it trains on. */
    public int dataRank() {
        return mesh.coordinate("island") * mesh.size("dp") + mesh.coordinate("dp");
    }

    /** The ranks of this rank's island (the whole world when there is one island). */
    public ProcessGroup island() {
        return mesh.groupSpanning(ISLAND_AXES);
    }

    /** This rank and the ranks at the same position of every other island, in island order. */
    public ProcessGroup acrossIslands() {
        return mesh.group("island");
    }

    /** The parameter elements this rank's optimizer updates. */
    public List<ParamSlice> optimizerSlices() {
        if (experts == null) return dp.optimizerSlices();
        List<ParamSlice> all = new java.util.ArrayList<>(dp.optimizerSlices());
        all.addAll(experts.optimizerSlices());
        return all;
    }

    /** Ops for a tape of this model, with the plan's activation recomputation (and the experts where the plan puts them). */
    public Ops ops(Tape tape) {
        Ops ops = new Ops(tape, kernels).withRecompute(recompute);
        return experts == null ? ops : ops.withExperts(experts);
    }

    /** The expert-parallel strategy, or null when every rank holds every expert. */
    public ExpertParallel expertParallel() {
        return experts;
    }

    /** Ops for a training tape: as {@link #ops}, with MoE blocks reporting their routing to this step's statistics. */
    private Ops trainingOps(Tape tape) {
        return router == null ? ops(tape) : ops(tape).withRouterLog(router);
    }

    public void zeroGrad() {
        dp.zeroGrad();
        if (experts != null) experts.zeroGrad();
    }

    /**
     * The routers of the step since the last call over every rank (then resets), or null for a
     * dense model: a collective, every rank calls it once per step.
     */
    public RouterSummary takeRouterSummary() {
        if (router == null) return null;
        double[] mine = router.toArray();
        double rows = experts == null ? router.keptRows() : experts.takeRowsComputed();
        double bytes = experts == null ? 0 : experts.takeBytesSent();
        router.reset();
        double[] sums = allReduce(append(mine, bytes, rows), ReduceOp.SUM);
        double maxRows = allReduce(new double[] {rows}, ReduceOp.MAX)[0];
        int n = mine.length;
        return RouterStats.summary(java.util.Arrays.copyOf(sums, n), mesh.world().size(), sums[n], maxRows, sums[n + 1]);
    }

    private static double[] append(double[] a, double... more) {
        double[] out = java.util.Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, out, a.length, more.length);
        return out;
    }

    /** Float32 is exact here: counts per step stay far below 2^24 (bytes are reported, not compared). */
    private double[] allReduce(double[] values, ReduceOp op) {
        try (Tensor t = Tensor.zeros(MemoryCategory.COMMUNICATION, values.length)) {
            for (int i = 0; i < values.length; i++) t.set(i, (float) values[i]);
            mesh.world().allReduce(t.data(), DType.F32, values.length, op);
            double[] out = new double[values.length];
            for (int i = 0; i < out.length; i++) out[i] = t.get(i);
            return out;
        }
    }

    /**
     * Forward and backward of one optimizer step's micro-batches ({@code ids.get(i)}, {@code
     * targets.get(i)}, the same on every tensor- and pipeline-parallel rank of a replica) on this
     * rank; when it returns, every gradient this rank's optimizer updates is reduced and final.
     *
     * @return the mean loss over the micro-batches and the data-parallel replicas, the same on every rank
     */
    public double forwardBackward(List<Tensor> ids, List<Tensor> targets) {
        return forwardBackward(ids, targets, null);
    }

    /**
     * The same, with micro-batch i's rows laid out and weighted as {@code layouts.get(i)} (packed
     * documents); {@code layouts} null means whole rows of equal weight. Packed rows run on data
     * parallelism and ZeRO (the config refuses them with cp, tp or pp).
     */
    public double forwardBackward(List<Tensor> ids, List<Tensor> targets, List<MicroBatchLayout> layouts) {
        double loss;
        if (pipeline != null) {
            loss = pipeline.step(dp, ids, targets);
        } else if (context != null) {
            loss = 0;
            for (int i = 0; i < ids.size(); i++) loss += context.forwardBackward(model, dp, this::trainingOps, ids.get(i), targets.get(i), i, ids.size());
            dp.finishGradients();
            loss = dp.average(loss);
        } else {
            int m = ids.size();
            if (experts != null) experts.beginStep();
            loss = 0;
            for (int i = 0; i < m; i++) {
                dp.beginMicroBatch(i, m);
                MicroBatchLayout layout = layouts == null ? MicroBatchLayout.WHOLE : layouts.get(i);
                try (Tape tape = new Tape(dp)) {
                    loss += model.loss(trainingOps(tape).withSequences(layout.sequences()), ids.get(i), targets.get(i),
                            (float) (layout.weight() / m)) * layout.weight();
                    tape.backward();
                }
            }
            dp.finishGradients();
            if (experts != null) experts.finishGradients();
            loss = dp.average(loss / m);
        }
        // Sequence parallelism leaves partial sums in the gradients of what every tp rank holds whole.
        if (tp != null) tp.finishGradients(dp);
        return loss;
    }

    /**
     * One hybrid data/context-parallel step ({@code hdp}): the balance scheduler gives each of the
     * step's sequences ⌈L / capacity⌉ ranks of the dp·cp pool (short ones one rank, packed; long ones
     * a ring), balancing estimated compute; this rank runs its micro-batches and the gradients are
     * summed over the pool. Every rank passes the same sequences and gets the same mean loss.
     *
     * @param capacity tokens one rank holds of a sequence (block_size / cp)
     */
    public double hybridStep(List<TokenSequence> sequences, int capacity) {
        int[] lengths = sequences.stream().mapToInt(TokenSequence::length).toArray();
        StepSchedule schedule = BalanceScheduler.hybrid(lengths, dp.size(), capacity, SequenceCost.of(model.config()));
        return hybrid.run(model, sequences, schedule);
    }

    /** Whether this rank's copy of the elements of {@code s} is the one that counts (norm, checkpoint). */
    public boolean owns(ParamSlice s) {
        if (experts != null && experts.managesName(s.name())) return experts.owns(s);
        // ZeRO ≥ 1 gives each data-parallel rank its own shard; at stage 0 replicas hold the same values.
        boolean dpOwns = dp.stage().shardsOptimizer() || dp.rank() == 0;
        return dpOwns && (tp == null || tp.owns(s.name())) && (pipeline == null || pipeline.owns(s.name()));
    }

    /**
     * The global gradient norm over the whole model, then clipping to {@code maxNorm} (0 = off): each
     * element's square is counted once, by its owner, and summed over the ranks of the island (each
     * island is a whole model; nothing here crosses between islands).
     */
    public double clipGradients(double maxNorm) {
        return GradientNorm.clip(optimizerSlices(), this::owns, List.of(island()), maxNorm, kernels);
    }

    /** After the optimizer step: every rank gets the updated parameters it holds. */
    public void afterOptimizerStep() {
        dp.afterOptimizerStep();
    }

    /** Mean loss of {@code ids}/{@code targets} without recording a backward pass (evaluation). */
    public double evaluate(Tensor ids, Tensor targets) {
        return evaluate(ids, targets, null);
    }

    /** The same with the rows laid out as {@code layout} (packed documents); null = each row one sequence. */
    public double evaluate(Tensor ids, Tensor targets, Sequences layout) {
        if (pipeline != null) return pipeline.evaluate(dp, List.of(ids), List.of(targets));
        if (context != null) return context.evaluate(model, dp, this::ops, ids, targets);
        dp.beginInference();
        try (Tape tape = Tape.inference(dp)) {
            return model.loss(ops(tape).withSequences(layout == null ? Sequences.WHOLE : layout), ids, targets, 1f);
        }
    }

    /**
     * Time this rank spent blocked in communication since the last call (then resets): data-parallel
     * gathers and reductions, and the pipeline's waits for activations and gradients of the last
     * step. Tensor-parallel collectives run inside the ops and are part of compute time here.
     */
    public double takeBlockedMillis() {
        BubbleReport bubble = lastBubble();
        return dp.takeBlockedMillis() + (bubble == null ? 0 : bubble.waitMs());
    }

    /** How the pipeline splits the layers ("layers per stage [2, 2]"), or null without a pipeline. */
    public String stageLayout() {
        return pipeline == null ? null : pipeline.layout().toString();
    }

    /** The last step's pipeline bubble on this rank, measured next to the formula; null without a pipeline. */
    public BubbleReport lastBubble() {
        return pipeline == null ? null : pipeline.lastBubble();
    }

    /**
     * The whole model, for writing it out: a collective over every rank. The result is {@link
     * #model()} itself when no strategy split it; else a new whole copy, which the caller closes.
     */
    public GPT gatherWholeModel() {
        dp.gatherAll();
        if (tp == null && pipeline == null && experts == null) return model;
        GPT whole = GPT.empty(model.config());
        try {
            for (Parameter p : model.parameters()) {
                Tensor dst = whole.param(p.name()).value();
                if (experts != null && experts.manages(p)) {
                    experts.gatherInto(p, dst, expertIndex(p.name()));
                    continue;
                }
                boolean held = pipeline == null || p.value() != null;
                if (held) {
                    if (tp != null) tp.gatherInto(p, dst);
                    else dst.copyFrom(p.value());
                }
                if (pipeline != null) mesh.group("pp").broadcast(dst.data(), DType.F32, dst.numel(), pipeline.holderOf(p.name()));
            }
        } finally {
            dp.releaseAll();
        }
        return whole;
    }

    /** e in {@code h.<i>.mlp.experts.<e>.…}. */
    private static int expertIndex(String name) {
        String rest = name.substring(name.indexOf(".experts.") + ".experts.".length());
        return Integer.parseInt(rest.substring(0, rest.indexOf('.')));
    }

    /** Undoes {@link #gatherWholeModel()}. */
    public void releaseWholeModel(GPT whole) {
        if (whole != model) whole.close();
        else dp.releaseAll();
    }

    @Override
    public void close() {
        if (hybrid != null) hybrid.close();
        dp.close();
        if (pipeline != null) pipeline.close();
        if (experts != null) experts.close();
        mesh.close();
    }
}
