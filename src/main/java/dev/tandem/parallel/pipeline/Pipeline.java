package dev.tandem.parallel.pipeline;

import dev.tandem.TandemException;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Tape;
import dev.tandem.optim.ParamSlice;
import dev.tandem.parallel.DataParallel;
import dev.tandem.parallel.GradientNorm;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Pipeline parallelism, applied to a model from outside. Rank r of the pipeline group keeps only
 * the modules of its stage ({@link StageLayout}) and frees the other parameters; each step it runs
 * its part of a {@link PipelineSchedule}, sending activations to the next stage and gradients to
 * the previous one with asynchronous point-to-point operations, in the deadlock-free order of a
 * simulated {@link Timeline}.
 *
 * <p>Data parallelism composes by wrapping only this rank's modules:
 * {@code DataParallel.apply(model, dpGroup, zero, pipeline.modules())}; the pipeline passes it to
 * every tape as the {@link dev.tandem.nn.Hooks} and tells it which micro-batch runs.
 *
 * <p>The output head is tied to the token embedding, which the first stage uses too: after the
 * backward passes the two ends add their gradients of the tied parameter, so both copies take
 * the same optimizer step and stay identical.
 */
public final class Pipeline implements AutoCloseable {
    private final GPT model;
    private final ProcessGroup group;
    private final StageLayout layout;
    private final PipelineSchedule schedule;
    private final List<String> modules;
    /** Parameters both ends of the pipeline hold (the tied embedding); empty with one stage. */
    private final Set<String> tied;
    /** The first and last pipeline rank, on those two ranks when they differ; else null. */
    private final ProcessGroup ends;
    private final Map<Integer, Timeline> timelines = new HashMap<>();
    private final Function<Tape, Ops> ops;
    private final int sequenceShards;
    private BubbleReport lastBubble;

    private Pipeline(GPT model, ProcessGroup group, StageLayout layout, PipelineSchedule schedule, Function<Tape, Ops> ops,
                     int sequenceShards) {
        this.ops = ops;
        this.sequenceShards = sequenceShards;
        this.model = model;
        this.group = group;
        this.layout = layout;
        this.schedule = schedule;
        this.modules = List.copyOf(layout.modulesOf(group.rank()));
        int p = layout.stages();
        Map<String, List<Parameter>> all = model.moduleParameters();
        Set<String> first = names(all, layout.modules(0)), lastStage = names(all, layout.modules(layout.virtualStages() - 1));
        first.retainAll(lastStage);
        this.tied = p == 1 ? Set.of() : Set.copyOf(first);
        boolean isEnd = group.rank() == 0 || group.rank() == p - 1;
        this.ends = p > 1 && isEnd ? group.subgroup("pp-ends", List.of(0, p - 1)) : null;
    }

    private static Set<String> names(Map<String, List<Parameter>> all, List<String> modules) {
        Set<String> out = new HashSet<>();
        for (String m : modules) for (Parameter p : all.get(m)) out.add(p.name());
        return out;
    }

    /**
     * Makes {@code model} the stage of this rank of the pipeline {@code group} (rank r holds stage
     * r) and frees the parameters of every module it does not hold. Every rank must call this with
     * the same layout and schedule; then wrap the rank's {@link #modules()} with
     * {@link DataParallel} (a one-rank group when there is no data parallelism). The stages' ops
     * compute with {@code kernels}.
     */
    public static Pipeline apply(GPT model, ProcessGroup group, StageLayout layout, PipelineSchedule schedule, Kernels kernels) {
        return apply(model, group, layout, schedule, tape -> new Ops(tape, kernels), 1);
    }

    /**
     * The same, with the ops each stage's tapes run ({@code ops}, e.g. with activation
     * recomputation) and, under sequence parallelism, the number of ranks that split each
     * activation's rows ({@code sequenceShards}; 1 otherwise).
     */
    public static Pipeline apply(GPT model, ProcessGroup group, StageLayout layout, PipelineSchedule schedule, Function<Tape, Ops> ops,
                                 int sequenceShards) {
        if (group.size() != layout.stages()) {
            throw new TandemException("the pipeline group has " + group.size() + " ranks but the stage layout has pp = "
                    + layout.stages() + " stages; build the layout for the group's size");
        }
        if (schedule.chunks() != layout.chunks()) {
            throw new TandemException("the " + schedule.label() + " schedule runs " + schedule.chunks() + " chunk(s) per rank but the stage layout has "
                    + layout.chunks() + "; build the layout with virtual_stages = " + schedule.chunks());
        }
        Pipeline pipe = new Pipeline(model, group, layout, schedule, ops, sequenceShards);
        Set<Parameter> held = Collections.newSetFromMap(new IdentityHashMap<>());
        Map<String, List<Parameter>> all = model.moduleParameters();
        for (String m : pipe.modules) held.addAll(all.get(m));
        for (Parameter p : model.parameters()) {
            if (held.contains(p) || p.value() == null) continue;
            Tensor v = p.value();
            p.bindValue(null);
            v.close();
            p.releaseGrad();
        }
        return pipe;
    }

    /** The modules this rank holds, in forward order (names as in {@link GPT#moduleParameters()}). */
    public List<String> modules() {
        return modules;
    }

    public StageLayout layout() {
        return layout;
    }

    public PipelineSchedule schedule() {
        return schedule;
    }

    /**
     * One training step's forward and backward passes: {@code ids.get(i)} and {@code targets.get(i)}
     * (I32 [rows, time], the same shape for every i) are micro-batch i. Every rank passes the same
     * micro-batches; only the first stage reads the ids and only the last the targets. Gradients
     * (averaged over micro-batches and over {@code dp}'s ranks, the tied embedding's summed over
     * both ends) are ready for the optimizer when this returns.
     *
     * @return the mean loss over the micro-batches and data-parallel ranks, the same on every rank
     */
    public double step(DataParallel dp, List<Tensor> ids, List<Tensor> targets) {
        double loss = run(dp, true, ids, targets);
        dp.finishGradients();
        sumTiedGradients(dp);
        return dp.average(loss);
    }

    /** Mean loss of the micro-batches, forward passes only (evaluation); the same on every rank. */
    public double evaluate(DataParallel dp, List<Tensor> ids, List<Tensor> targets) {
        return run(dp, false, ids, targets);
    }

    private double run(DataParallel dp, boolean training, List<Tensor> ids, List<Tensor> targets) {
        int m = ids.size();
        if (m == 0 || targets.size() != m) {
            throw new IllegalArgumentException("need one ids and one targets tensor per micro-batch, got " + m + " and " + targets.size());
        }
        Timeline timeline = training ? timelines.computeIfAbsent(m, k -> Timeline.of(layout, schedule, k)) : Timeline.forwardOnly(layout, m);
        StageRun run = new StageRun(model, group, layout, dp, training, ids, targets, ops, sequenceShards);
        double lossSum = run.run(timeline.program(group.rank()));
        if (training) {
            lastBubble = run.report(schedule.label(), timeline.bubble(group.rank()), schedule.bubbleFormula(layout.stages(), m));
        }
        return fromLastStage(lossSum / m);
    }

    /** The last stage's {@code value} on every pipeline rank, bit for bit. */
    private double fromLastStage(double value) {
        if (group.size() == 1) return value;
        try (Tensor bits = Tensor.allocate(DType.I32, MemoryCategory.COMMUNICATION, 2)) {
            bits.data().set(ValueLayout.JAVA_LONG_UNALIGNED, 0, Double.doubleToRawLongBits(value));
            group.broadcast(bits.data(), DType.I32, 2, group.size() - 1);
            return Double.longBitsToDouble(bits.data().get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
        }
    }

    /** The first and last stage add their gradients of the tied parameters (over the same shard, as both shard alike). */
    private void sumTiedGradients(DataParallel dp) {
        if (ends == null) return;
        for (ParamSlice s : dp.optimizerSlices()) {
            if (tied.contains(s.name())) ends.allReduce(s.grad(), DType.F32, s.length(), ReduceOp.SUM);
        }
    }

    /**
     * The global gradient norm over the whole model (the tied embedding counted once), then
     * clipping to {@code maxNorm} (0 = off); replaces {@link DataParallel#clipGradients} under
     * pipeline parallelism. The sum of squares travels as doubles, so every rank gets the same norm.
     */
    public double clipGradients(DataParallel dp, double maxNorm) {
        // At ZeRO stage 0 every data-parallel rank holds the whole gradient; otherwise a shard.
        return GradientNorm.clip(dp.optimizerSlices(), s -> owns(s.name()), dp.stage().shardsOptimizer() ? List.of(dp.group(), group) : List.of(group),
                maxNorm, dp.kernels());
    }

    /**
     * Whether this rank's copy of {@code parameter} is the one that counts (in the gradient norm, in
     * a checkpoint): the tied embedding is held by both ends and counted at the first stage.
     */
    public boolean owns(String parameter) {
        return !(tied.contains(parameter) && group.rank() == group.size() - 1 && group.size() > 1);
    }

    /** The lowest pipeline rank that holds {@code parameter}. */
    public int holderOf(String parameter) {
        Map<String, List<Parameter>> all = model.moduleParameters();
        for (int r = 0; r < group.size(); r++) {
            for (String m : layout.modulesOf(r)) for (Parameter p : all.get(m)) if (p.name().equals(parameter)) return r;
        }
        throw new IllegalArgumentException("no stage holds " + parameter);
    }

    /** This rank's compute and idle time in the last training step, with the predicted bubble (null before the first). */
    public BubbleReport lastBubble() {
        return lastBubble;
    }

    @Override
    public void close() {
        if (ends != null) ends.close();
    }
}
