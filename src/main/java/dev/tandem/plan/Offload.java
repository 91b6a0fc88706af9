package dev.tandem.plan;

import java.util.Locale;

/** What lives outside device memory. The planner prices it; the runtime does not offload yet and refuses it. */
public enum Offload {
    /** Everything in device memory. */
    NONE,
    /** Optimizer state and the optimizer step in host memory (ZeRO-Offload). */
    OPTIMIZER;

    /** The config name: {@code none} or {@code optimizer}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Offload named(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "none" -> NONE;
            case "optimizer" -> OPTIMIZER;
            default -> throw new PlanInputException("offload must be none or optimizer, got '" + name + "'");
        };
    }
}
