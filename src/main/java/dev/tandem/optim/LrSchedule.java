package dev.tandem.optim;

import dev.tandem.TandemException;

/** Learning rate as a function of the step (0-based). */
public sealed interface LrSchedule {
    float at(long step);

    /** Linear warmup to {@code maxLr}, then cosine decay to {@code minLr} at {@code totalSteps}. */
    record WarmupCosine(float maxLr, float minLr, long warmupSteps, long totalSteps) implements LrSchedule {
        public WarmupCosine {
            validate(maxLr, minLr, warmupSteps, totalSteps);
        }

        @Override
        public float at(long step) {
            if (step < warmupSteps) return maxLr * (step + 1) / warmupSteps;
            if (step >= totalSteps) return minLr;
            double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
            return (float) (minLr + 0.5 * (maxLr - minLr) * (1 + Math.cos(Math.PI * progress)));
        }
    }

    /**
     * Warmup-stable-decay: linear warmup, constant {@code maxLr}, then a linear decay to
     * {@code minLr} over the last {@code decayFraction} of training.
     */
    record WarmupStableDecay(float maxLr, float minLr, long warmupSteps, long totalSteps, double decayFraction)
            implements LrSchedule {
        public WarmupStableDecay {
            validate(maxLr, minLr, warmupSteps, totalSteps);
            if (!(decayFraction > 0 && decayFraction <= 1)) {
                throw new TandemException("decay_fraction must be in (0, 1], got " + decayFraction);
            }
        }

        @Override
        public float at(long step) {
            if (step < warmupSteps) return maxLr * (step + 1) / warmupSteps;
            long decayStart = totalSteps - Math.round(decayFraction * totalSteps);
            if (step < decayStart) return maxLr;
            if (step >= totalSteps) return minLr;
            double progress = (double) (step - decayStart) / Math.max(1, totalSteps - decayStart);
            return (float) (maxLr + (minLr - maxLr) * progress);
        }
    }

    /** Linear warmup, then linear decay to {@code minLr}. */
    record WarmupLinear(float maxLr, float minLr, long warmupSteps, long totalSteps) implements LrSchedule {
        public WarmupLinear {
            validate(maxLr, minLr, warmupSteps, totalSteps);
        }

        @Override
        public float at(long step) {
            if (step < warmupSteps) return maxLr * (step + 1) / warmupSteps;
            if (step >= totalSteps) return minLr;
            double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
            return (float) (maxLr + (minLr - maxLr) * progress);
        }
    }

    /** Builds a schedule by its config name: {@code cosine}, {@code wsd} or {@code linear}. */
    static LrSchedule named(String name, float maxLr, float minLr, long warmup, long total, double decayFraction) {
        return switch (name) {
            case "cosine" -> new WarmupCosine(maxLr, minLr, warmup, total);
            case "wsd" -> new WarmupStableDecay(maxLr, minLr, warmup, total, decayFraction);
            case "linear" -> new WarmupLinear(maxLr, minLr, warmup, total);
            default -> throw new TandemException("unknown lr schedule '" + name + "': use cosine, wsd or linear");
        };
    }

    private static void validate(float maxLr, float minLr, long warmup, long total) {
        if (!(maxLr > 0)) throw new TandemException("learning rate must be positive, got " + maxLr);
        if (minLr < 0 || minLr > maxLr) throw new TandemException("min_lr must be in [0, lr], got " + minLr);
        if (warmup < 0 || total <= 0) throw new TandemException("warmup must be >= 0 and steps > 0");
    }
}
