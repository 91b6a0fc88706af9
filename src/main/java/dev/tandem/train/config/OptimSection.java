package dev.tandem.train.config;

import dev.tandem.TandemException;
import dev.tandem.optim.LrSchedule;
import dev.tandem.optim.OptimizerSettings;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamGroups;
import dev.tandem.plan.OptimizerSpec;
import java.util.Map;

/**
 * {@code [optim]}: the optimizer and its hyperparameters, and the learning-rate schedule
 * (docs/OPTIMIZERS.md). Which optimizer runs is also part of the plan, which counts its state.
 *
 * @param name          adamw, adamw8bit, lion, lion8bit, muon, soap or sgd
 * @param schedule      learning-rate schedule: cosine, wsd or linear (see {@code LrSchedule})
 * @param decayFraction the decay phase's share of the steps (wsd)
 * @param gradClip      clip the global gradient norm to this (0: off)
 * @param options       optimizer-specific options, {@code "key=value, key=value"}
 * @param paramGroups   per-group overrides, e.g. {@code "embeddings: lr=0.1x"} (see {@code ParamGroups})
 */
public record OptimSection(String name, float lr, float minLr, int warmupSteps, String schedule, double decayFraction,
                           float weightDecay, float beta1, float beta2, double gradClip, String options, String paramGroups) {
    public OptimSection {
        OptimizerSpec.named(name);
        if (gradClip < 0) throw new TandemException("optim.grad_clip must be >= 0 (0 = off), got " + gradClip);
        if (warmupSteps < 0) throw new TandemException("optim.warmup_steps must be >= 0, got " + warmupSteps);
        if (options == null || paramGroups == null || schedule == null) {
            throw new TandemException("optim.options, optim.param_groups and optim.schedule must be strings");
        }
        OptimizerSettings.parseOptions(options);
        ParamGroups.parse(paramGroups);
    }

    /** The optimizer as the plan names it. */
    public OptimizerSpec spec() {
        return OptimizerSpec.named(name);
    }

    /**
     * The optimizer hyperparameters: β/ε/weight decay, options and groups. With the model's
     * {@code stable_embedding}, the 8-bit optimizers' option of that name is turned on too, which
     * keeps the embeddings' state in float32.
     */
    public OptimizerSettings settings(boolean stableEmbedding) {
        Map<String, String> opts = OptimizerSettings.parseOptions(options);
        if (stableEmbedding && Optimizers.hasOption(name, "stable_embedding")) opts.putIfAbsent("stable_embedding", "true");
        return new OptimizerSettings(beta1, beta2, 1e-8f, weightDecay, ParamGroups.parse(paramGroups), opts);
    }

    /** The learning rate at each step of a run of {@code steps} steps. */
    public LrSchedule lrSchedule(int steps) {
        return LrSchedule.named(schedule, lr, minLr, warmupSteps, steps, decayFraction);
    }
}
