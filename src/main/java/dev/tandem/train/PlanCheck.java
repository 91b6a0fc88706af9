package dev.tandem.train;

import dev.tandem.nn.GPTConfig;
import dev.tandem.parallel.Plan;
import dev.tandem.plan.Calibration;
import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.CostModel;
import dev.tandem.plan.DeviceProbe;
import dev.tandem.plan.ModelSpec;
import dev.tandem.plan.PlanCandidate;
import dev.tandem.plan.Prediction;
import dev.tandem.plan.Recompute;
import dev.tandem.plan.Schedule;
import dev.tandem.plan.ZeroStage;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Kernels;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The planner's prediction for the run's own plan, on this machine as measured with Tandem's
 * kernels, printed next to what the run measured. A large gap means the cost model or the
 * runtime is wrong somewhere; docs/PLANNER.md discusses the known gaps.
 */
final class PlanCheck {
    private final Prediction prediction;

    private PlanCheck(Prediction prediction) {
        this.prediction = prediction;
    }

    static PlanCheck predict(GPTConfig cfg, Plan plan, int globalBatch, int ranks, Kernels kernels) {
        DeviceProbe.Measurement m = new TandemProbe(kernels).measure();
        ModelSpec model = ModelSpec.gpt("this run", cfg.nLayer(), cfg.nEmbd(), cfg.nHead(), cfg.vocabSize(), cfg.blockSize());
        ClusterSpec cluster = ClusterSpec.of(ranks, Calibration.hardware(m, ranks));
        PlanCandidate candidate = new PlanCandidate(plan.tp(), plan.pp(), plan.dp(), plan.rowsPerMicroBatch(globalBatch),
                // With one data-parallel rank every ZeRO stage is stage 0 (nothing to shard across).
                Schedule.withChunks(plan.virtualStages()), ZeroStage.of(plan.dp() == 1 ? 0 : plan.zeroStage()), recompute(plan),
                plan.sequenceParallel(), plan.offload());
        return new PlanCheck(new CostModel(model, cluster, globalBatch).predict(candidate));
    }

    /** The planner models one mode for all layers; with a per-layer list the most recomputing one sets the pace. */
    private static Recompute recompute(Plan plan) {
        List<String> modes = Plan.recomputeModes(plan.recompute());
        for (String m : List.of("full", "selective")) if (modes.contains(m)) return Recompute.valueOf(m.toUpperCase(Locale.ROOT));
        return Recompute.NONE;
    }

    String predictedLine() {
        return String.format(Locale.ROOT, "planner predicts for this plan: %.0f ms/step (compute %.0f, exposed comm %.0f), "
                        + "model state %.1f MiB per rank",
                prediction.stepSeconds() * 1e3, prediction.time().compute() * 1e3,
                prediction.time().exposedCommunication() * 1e3, modelStateBytes() / 1048576.0);
    }

    /** Parameters, gradients and optimizer state as the planner counts them. */
    private double modelStateBytes() {
        return prediction.memory().params() + prediction.memory().grads() + prediction.memory().optimizer();
    }

    String comparisonLine(double measuredMedianMs, Map<MemoryCategory, Long> measured) {
        long state = measured.get(MemoryCategory.PARAMETERS) + measured.get(MemoryCategory.GRADIENTS)
                + measured.get(MemoryCategory.OPTIMIZER_STATE);
        return String.format(Locale.ROOT, "predicted vs measured: step %.0f ms vs %.0f ms (%.2f×); model state %.1f vs %.1f MiB per rank (%.2f×)",
                prediction.stepSeconds() * 1e3, measuredMedianMs, measuredMedianMs / (prediction.stepSeconds() * 1e3),
                modelStateBytes() / 1048576.0, state / 1048576.0, state / modelStateBytes());
    }
}
