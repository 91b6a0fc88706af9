package dev.tandem.train;

import dev.tandem.TandemException;
import dev.tandem.plan.Calibration;
import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.CostModel;
import dev.tandem.plan.DeviceProbe;
import dev.tandem.plan.MemoryBreakdown;
import dev.tandem.plan.ModelSpec;
import dev.tandem.plan.Plan;
import dev.tandem.plan.PlanInputException;
import dev.tandem.plan.Prediction;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import java.util.Locale;
import java.util.Map;

/**
 * The planner's prediction for the run's own plan, on this machine as measured with Tandem's
 * kernels, printed next to what the run measured: {@link CostModel#predict} of the very plan the
 * runtime executes, with parameters, gradients and optimizer state compared one by one (rank 0
 * holds the first pipeline stage). A large gap means the cost model or the runtime is wrong
 * somewhere; docs/PLANNER.md discusses the known gaps.
 */
final class PlanCheck {
    private final Prediction prediction; // null when the planner cannot model the plan
    private final MemoryBreakdown rankZero;
    private final String unmodelled;
    /** The CPU share the run gets from its start (the prediction is for the whole machine). */
    private final CpuShare run;

    private PlanCheck(Prediction prediction, MemoryBreakdown rankZero, String unmodelled, CpuShare run) {
        this.prediction = prediction;
        this.rankZero = rankZero;
        this.unmodelled = unmodelled;
        this.run = run;
    }

    static PlanCheck predict(ModelSpec model, Plan plan, int globalBatch, int ranks, Kernels kernels) {
        DeviceProbe.Measurement m = RecentProbe.measure(new TandemProbe(kernels), kernels.pool().threads());
        ClusterSpec cluster = ClusterSpec.of(ranks, Calibration.hardware(m, ranks));
        CostModel cost = new CostModel(model, cluster, globalBatch);
        CpuShare run = CpuShare.start(kernels.pool().threads());
        try {
            return new PlanCheck(cost.predict(plan), cost.stageMemory(plan, 0), null, run);
        } catch (PlanInputException e) {
            // The runtime runs plans the cost model does not describe (e.g. uneven interleaved chunks): say so, do not stop the run.
            return new PlanCheck(null, null, e.getMessage(), run);
        }
    }

    /**
     * Refuses a run the planner predicts cannot fit this machine's memory, with the numbers, before
     * it allocates its way into an out-of-memory error minutes later.
     */
    void requireFits() {
        if (prediction == null || prediction.memory().fits()) return;
        MemoryBreakdown m = prediction.memory();
        throw new TandemException(String.format(Locale.ROOT, "the planner predicts %.2f GB per rank (activations %.2f GB, model state "
                        + "%.2f GB) but this machine has %.2f GB per rank: lower data.batch_size or model.block_size, raise "
                        + "parallel.micro_batches, use parallel.recompute full, or shard with parallel.zero / tp / pp",
                m.total() / 1e9, m.activations() / 1e9, (m.params() + m.grads() + m.optimizer()) / 1e9, m.capacity() / 1e9));
    }

    /** The predicted step time in milliseconds; NaN when the planner cannot model the plan. */
    double predictedStepMs() {
        return prediction == null ? Double.NaN : prediction.stepSeconds() * 1e3;
    }

    String predictedLine() {
        if (prediction == null) return "planner: this plan is outside what the cost model describes (" + unmodelled + ")";
        return String.format(Locale.ROOT, "planner predicts for this plan: %.0f ms/step (compute %.0f, exposed comm %.0f); on rank 0 "
                        + "parameters %.1f + gradients %.1f + optimizer state %.1f MiB",
                prediction.stepSeconds() * 1e3, prediction.time().compute() * 1e3, prediction.time().exposedCommunication() * 1e3,
                mib(rankZero.params()), mib(rankZero.grads()), mib(rankZero.optimizer()));
    }

    /** Predicted against measured: the median step, then each model-state part on rank 0. */
    String comparisonLine(double measuredMedianMs, Map<MemoryCategory, Long> measured) {
        if (prediction == null) return "predicted vs measured: no prediction (" + unmodelled + ")";
        // The prediction is for the whole machine; at the share of it this run got, steps take 1/share as long.
        double share = run.share(), atShare = prediction.stepSeconds() * 1e3 / share;
        return String.format(Locale.ROOT, "predicted vs measured: step %.0f ms vs %.0f ms (%.2f×), %.0f ms at the %.0f%% CPU share this run "
                        + "got (%.2f×); rank 0 parameters %s, gradients %s, optimizer state %s", prediction.stepSeconds() * 1e3, measuredMedianMs,
                measuredMedianMs / (prediction.stepSeconds() * 1e3), atShare, 100 * share, measuredMedianMs / atShare,
                part(rankZero.params(), measured.get(MemoryCategory.PARAMETERS)),
                part(rankZero.grads(), measured.get(MemoryCategory.GRADIENTS)),
                part(rankZero.optimizer(), measured.get(MemoryCategory.OPTIMIZER_STATE)));
    }

    private static String part(double predicted, long measured) {
        return String.format(Locale.ROOT, "%.2f vs %.2f MiB (%.2f×)", mib(predicted), mib(measured), measured / predicted);
    }

    private static double mib(double bytes) {
        return bytes / 1048576.0;
    }
}
