package dev.tandem.parallel;

import dev.tandem.comm.Mesh;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Ops;
import dev.tandem.nn.RecomputePolicy;
import dev.tandem.nn.Tape;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.Tensor;
import java.util.List;

/**
 * A GPT wrapped for a {@link Plan} on a {@link Mesh}, the strategies applied from outside in a
 * fixed order: tensor parallelism splits the parameters, activation recomputation is chosen per
 * block (through the ops the model runs on), then data parallelism (ZeRO) shards what each rank
 * holds. The training loop drives a step through this class and never asks which
 * strategies are on: the same calls run one rank or a dp × tp grid.
 *
 * <p>Ranks are laid out tensor-parallel fastest, then data-parallel, then pipeline (Megatron-LM's
 * order, the planner's too), so a tensor-parallel group is a run of neighbouring ranks.
 */
public final class ParallelModel implements AutoCloseable {
    private final GPT model;
    private final Mesh mesh;
    private final TensorParallel tp; // null when plan.tp() == 1
    private final DataParallel dp;
    private final RecomputePolicy recompute;

    private ParallelModel(GPT model, Plan plan, Mesh mesh) {
        this.model = model;
        this.mesh = mesh;
        this.recompute = RecomputePolicy.parse(plan.recompute(), model.config().nLayer());
        this.tp = plan.tp() > 1 ? TensorParallel.apply(model, mesh.group("tp"), plan.sequenceParallel()) : null;
        this.dp = DataParallel.apply(model, mesh.group("dp"), plan.zeroStage(), Optimizers.updatedWhole(plan.optimizer()));
    }

    /** The mesh of {@code plan} over {@code world}: axes pp, dp, tp (tp fastest). */
    public static Mesh mesh(ProcessGroup world, Plan plan) {
        return Mesh.create(world, List.of(new Mesh.Axis("pp", plan.pp()), new Mesh.Axis("dp", plan.dp()), new Mesh.Axis("tp", plan.tp())));
    }

    /**
     * Applies {@code plan} to {@code model}, which must hold the same whole parameters on every rank.
     * The model's parameters move into storage owned by the result, which must be closed first.
     */
    public static ParallelModel parallelize(GPT model, Plan plan, Mesh mesh) {
        return new ParallelModel(model, plan, mesh);
    }

    public GPT model() {
        return model;
    }

    public DataParallel dataParallel() {
        return dp;
    }

    /** The tensor-parallel strategy, or null when the plan has tp = 1. */
    public TensorParallel tensorParallel() {
        return tp;
    }

    /** This rank's index among the data-parallel replicas: which rows of the batch it trains on. */
    public int dataRank() {
        return mesh.coordinate("dp");
    }

    /** The parameter elements this rank's optimizer updates. */
    public List<ParamSlice> optimizerSlices() {
        return dp.optimizerSlices();
    }

    /** Ops for a tape of this model, with the plan's activation recomputation. */
    public Ops ops(Tape tape) {
        return new Ops(tape, Kernels.fast()).withRecompute(recompute);
    }

    public void zeroGrad() {
        dp.zeroGrad();
    }

    /**
     * Forward and backward of one optimizer step's micro-batches ({@code ids.get(i)}, {@code
     * targets.get(i)}) on this rank, gradients accumulated; returns this rank's mean loss.
     */
    public double forwardBackward(List<Tensor> ids, List<Tensor> targets) {
        int m = ids.size();
        double loss = 0;
        for (int i = 0; i < m; i++) {
            dp.beginMicroBatch(i, m);
            try (Tape tape = new Tape(dp)) {
                loss += model.loss(ops(tape), ids.get(i), targets.get(i), 1f / m);
                tape.backward();
            }
        }
        return loss / m;
    }

    /** Waits for the gradient reductions of this step: data-parallel, then sequence-parallel partial sums. */
    public void finishGradients() {
        dp.finishGradients();
        if (tp != null) tp.finishGradients(dp);
    }

    /** The loss averaged over data-parallel replicas (for logging; the same on every rank). */
    public double averageLoss(double loss) {
        return dp.average(loss);
    }

    /** The global gradient norm over the whole model, then clipping to {@code maxNorm} (0 = off). */
    public double clipGradients(double maxNorm) {
        return tp != null ? tp.clipGradients(dp, maxNorm) : dp.clipGradients(maxNorm);
    }

    /** After the optimizer step: every rank gets the updated parameters it holds. */
    public void afterOptimizerStep() {
        dp.afterOptimizerStep();
    }

    /** Mean loss of {@code ids}/{@code targets} without recording a backward pass (evaluation). */
    public double evaluate(Tensor ids, Tensor targets) {
        dp.beginInference();
        try (Tape tape = Tape.inference(dp)) {
            return model.loss(ops(tape), ids, targets, 1f);
        }
    }

    /** Time this rank spent blocked in communication since the last call (then resets). */
    public double takeBlockedMillis() {
        return dp.takeBlockedMillis();
    }

    /**
     * The whole model, for writing it out: a collective over every rank. The result is {@link
     * #model()} itself when no strategy split it, else a new gathered copy the caller closes.
     */
    public GPT gatherWholeModel() {
        dp.gatherAll();
        try {
            return tp == null ? model : tp.gatherModel();
        } finally {
            if (tp != null) dp.releaseAll();
        }
    }

    /** Undoes {@link #gatherWholeModel()}. */
    public void releaseWholeModel(GPT whole) {
        if (whole != model) whole.close();
        else dp.releaseAll();
    }

    @Override
    public void close() {
        dp.close();
    }
}
