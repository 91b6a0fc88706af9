package dev.tandem.plan;

import java.util.Locale;

/**
 * The number formats of parameters and gradients, and so the bytes each model state takes. The
 * runtime trains in float32; the published GPU runs the planner checks against use mixed precision.
 */
public enum TrainingPrecision {
    /** float32 parameters, gradients and compute; the optimizer updates the parameters in place. */
    FP32(4, 4, 0),
    /**
     * 16-bit (FP16 or BF16) parameters, gradients and GEMMs, with a float32 master copy of the
     * parameters in the optimizer state (Micikevicius et al. 2018; Rajbhandari et al.'s K = 12 for Adam).
     */
    MIXED(2, 2, 4);

    private final int paramBytes, gradBytes, masterBytes;

    TrainingPrecision(int paramBytes, int gradBytes, int masterBytes) {
        this.paramBytes = paramBytes;
        this.gradBytes = gradBytes;
        this.masterBytes = masterBytes;
    }

    /** Bytes of one parameter as the forward reads it. */
    public int paramBytes() {
        return paramBytes;
    }

    /** Bytes of one gradient element (what data parallelism reduces). */
    public int gradBytes() {
        return gradBytes;
    }

    /** Bytes of the float32 master copy the optimizer keeps per parameter (0 when the parameters are float32). */
    public int masterBytes() {
        return masterBytes;
    }

    /** The config name: {@code fp32} or {@code mixed}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TrainingPrecision named(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "fp32" -> FP32;
            case "mixed" -> MIXED;
            default -> throw new PlanInputException("precision must be fp32 or mixed, got '" + name + "'");
        };
    }
}
