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
    MIXED(2, 2, 4),
    /**
     * FP8 GEMMs (Transformer Engine's recipe, Micikevicius et al. 2022): the layers' weight GEMMs
     * run at the device's FP8 peak on FP8 casts of their inputs (E4M3 forward, E5M2 gradients),
     * while parameters and gradients stay 16-bit with a float32 master copy, as in {@link #MIXED};
     * the FP8 copy of each weight and its transpose (2 bytes per matrix element) are kept while the
     * weight is in use. Attention and the output layer stay 16-bit.
     */
    FP8(2, 2, 4);

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

    /**
     * Peak FLOP/s of this precision's weight GEMMs on {@code hw}: FP8 for {@link #FP8}; FP16/BF16 for
     * {@link #MIXED}; TF32 for {@link #FP32} where the device has it (the tensor-core path float32
     * training takes on NVIDIA GPUs), else FP32. 0 when the device lacks the format.
     */
    public double gemmPeak(Hardware hw) {
        return switch (this) {
            case FP8 -> hw.peak(Precision.FP8);
            case MIXED -> hw.mixedPrecisionPeak();
            case FP32 -> hw.peak(Precision.TF32) > 0 ? hw.peak(Precision.TF32) : hw.peak(Precision.FP32);
        };
    }

    /** Peak of the GEMMs that stay in 16 bits (attention core, output layer); float32 ones in an FP32 plan. */
    public double attentionPeak(Hardware hw) {
        return this == FP32 ? FP32.gemmPeak(hw) : hw.mixedPrecisionPeak();
    }

    /** The config name: {@code fp32}, {@code mixed} or {@code fp8}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TrainingPrecision named(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "fp32" -> FP32;
            case "mixed" -> MIXED;
            case "fp8" -> FP8;
            default -> throw new PlanInputException("precision must be fp32 or mixed (16-bit GEMMs: BF16, or FP16 where the device has no "
                    + "BF16) or fp8, got '" + name + "'");
        };
    }
}
