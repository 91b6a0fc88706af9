package dev.tandem.plan;

import java.util.Locale;

/**
 * Where an MoE model's experts live (the expert axis of a plan). Plain data: the runtime reads
 * it in {@code parallel}, the rules in {@link PlanRules}.
 *
 * @param ep   ranks of an expert group: each holds n_experts / ep experts of every MoE block, and
 *             tokens travel to them by all-to-all. The group sits inside the data-parallel group
 *             (ep divides dp; the dp / ep groups hold replicas of the same experts).
 * @param mode {@link Mode#EP} or {@link Mode#FSSDP}
 */
public record ExpertLayout(int ep, Mode mode) {
    /** Every expert on every rank (plain data parallelism of an MoE model, or a dense model). */
    public static final ExpertLayout NONE = new ExpertLayout(1, Mode.EP);

    public ExpertLayout {
        if (ep < 1) throw new PlanInputException("ep must be >= 1, got " + ep);
        java.util.Objects.requireNonNull(mode, "mode");
    }

    /** How experts are spread. */
    public enum Mode {
        /** Expert parallelism: a fixed partition of the experts over the expert group. */
        EP,
        /**
         * Fully sharded sparse data parallelism (Hecate): each expert's parameters and optimizer
         * state on exactly one rank of the data-parallel group, hot experts replicated per step.
         */
        FSSDP;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Mode named(String s) {
            return switch (s.strip().toLowerCase(Locale.ROOT)) {
                case "ep" -> EP;
                case "fssdp" -> FSSDP;
                default -> throw new PlanInputException("moe must be ep or fssdp, got '" + s + "'");
            };
        }
    }

    /** Whether the plan spreads experts over ranks at all. */
    public boolean spread() {
        return ep > 1 || mode == Mode.FSSDP;
    }
}
