package dev.tandem.api;

import dev.tandem.plan.Calibration;
import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.CostModel;
import dev.tandem.plan.DeviceProbe;
import dev.tandem.plan.ModelSpec;
import dev.tandem.plan.OptimizerSpec;
import dev.tandem.plan.PlanSearch;
import dev.tandem.plan.Prediction;
import dev.tandem.plan.SearchResult;
import dev.tandem.tensor.ComputeOptions;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;
import dev.tandem.train.TandemProbe;
import java.util.List;

/**
 * The planner for training on this machine: it measures the machine once with Tandem's own
 * kernels (GEMM throughput, memory and copy bandwidth; about a second, longer on a busy machine),
 * then searches every plan for a number of ranks (dp × tp × pp, ZeRO stage, micro-batches,
 * schedule, recomputation) and ranks those that fit by predicted step time, as
 * {@code tandem plan --calibrate --cluster NxCPU} does (docs/PLANNER.md). The plans are the ones
 * the runtime runs: float32, nothing offloaded.
 *
 * <pre>{@code
 * ParallelPlan plan = Planner.bestFor(ModelShape.of(4, 4, 192, 128), 2048, 2, 16);
 * }</pre>
 */
public final class Planner {
    private final int ranks;
    private final DeviceProbe.Measurement machine;
    private final OptimizerSpec optimizer;

    private Planner(int ranks, DeviceProbe.Measurement machine, OptimizerSpec optimizer) {
        this.ranks = ranks;
        this.machine = machine;
        this.optimizer = optimizer;
    }

    /**
     * Measures this machine and plans for {@code ranks} ranks on it (each gets its share of the
     * cores, memory and bandwidth). Throws {@link dev.tandem.TandemException} when {@code ranks} is
     * below 1.
     */
    public static Planner forThisMachine(int ranks) {
        if (ranks < 1) throw new dev.tandem.TandemException("the planner needs at least 1 rank, got " + ranks);
        try (WorkerPool pool = new WorkerPool(ComputeOptions.defaults().threads())) {
            return new Planner(ranks, new TandemProbe(Kernels.fast(pool)).measure(), OptimizerSpec.ADAMW);
        }
    }

    /** The best plan for {@code model} on {@code ranks} ranks of this machine: {@code forThisMachine(ranks).best(...).plan()}. */
    public static ParallelPlan bestFor(ModelShape model, int vocabSize, int ranks, int globalBatch) {
        return forThisMachine(ranks).best(model, vocabSize, globalBatch).plan();
    }

    /**
     * This planner for plans that hold the state of optimizer {@code name} ({@code adamw}, the
     * default, {@code adamw8bit}, {@code lion}, {@code lion8bit}, {@code muon}, {@code soap} or {@code sgd}).
     */
    public Planner withOptimizer(String name) {
        return new Planner(ranks, machine, OptimizerSpec.named(name));
    }

    /** Ranks this planner plans for. */
    public int ranks() {
        return ranks;
    }

    /**
     * The fastest plan that fits, with global batches of {@code globalBatch} sequences. When none
     * fits, throws {@link dev.tandem.TandemException} saying why the closest one does not.
     */
    public PlanPrediction best(ModelShape model, int vocabSize, int globalBatch) {
        SearchResult r = search(model, vocabSize, globalBatch, 1);
        return view(r.best());
    }

    /** Up to {@code top} plans that fit, fastest first (empty when none fits). */
    public List<PlanPrediction> ranked(ModelShape model, int vocabSize, int globalBatch, int top) {
        if (top < 1) throw new dev.tandem.TandemException("top must be >= 1, got " + top);
        return search(model, vocabSize, globalBatch, top).ranked().stream().map(Planner::view).toList();
    }

    /**
     * The prediction for one given plan (whether or not it is the best). A plan that cannot run
     * this model on these ranks throws {@link dev.tandem.TandemException} naming the key.
     */
    public PlanPrediction predict(ParallelPlan plan, ModelShape model, int vocabSize, int globalBatch) {
        if (plan.ranks() != ranks) {
            throw new dev.tandem.TandemException("the plan " + plan.label() + " needs " + plan.ranks() + " ranks but this planner plans for "
                    + ranks + ": use Planner.forThisMachine(" + plan.ranks() + ")");
        }
        return view(cost(model, vocabSize, globalBatch).predict(plan.toPlan().withPrecision(dev.tandem.plan.TrainingPrecision.FP32)
                .withOptimizer(optimizer)));
    }

    private SearchResult search(ModelShape model, int vocabSize, int globalBatch, int keep) {
        CostModel cost = cost(model, vocabSize, globalBatch);
        PlanSearch.Space space = PlanSearch.Space.of(cost.cluster());
        return PlanSearch.search(cost, keep, space.with(space.precision(), optimizer));
    }

    private CostModel cost(ModelShape model, int vocabSize, int globalBatch) {
        if (vocabSize < 1) throw new dev.tandem.TandemException("the vocabulary size must be positive, got " + vocabSize);
        if (globalBatch < 1) throw new dev.tandem.TandemException("the global batch must be positive, got " + globalBatch);
        ModelSpec spec = ModelSpec.gpt("this model", model.layers(), model.embd(), model.heads(), vocabSize, model.blockSize());
        return new CostModel(spec, ClusterSpec.of(ranks, Calibration.hardware(machine, ranks)), globalBatch);
    }

    private static PlanPrediction view(Prediction p) {
        return new PlanPrediction(ParallelPlan.of(p.plan()), p.stepSeconds() * 1e3, p.memory().total(), p.mfu(), p.feasible());
    }
}
