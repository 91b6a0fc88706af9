package dev.tandem.plan;

import java.util.Locale;

/**
 * The MLP of a transformer layer. GELU is GPT-2/3's: up to {@code ffn_hidden}, GELU, down (two
 * weight matrices, 2·h·f parameters). SwiGLU is Llama's: a gate and an up projection to
 * {@code ffn_hidden}, SiLU(gate)·up, down (three weight matrices, 3·h·f parameters).
 */
public enum MlpType {
    GELU(2),
    SWIGLU(3);

    private final int matrices;

    MlpType(int matrices) {
        this.matrices = matrices;
    }

    /** Weight matrices of shape h × f (or f × h) in the MLP. */
    public int matrices() {
        return matrices;
    }

    /** Width of the up projection's output: f for GELU, 2f for SwiGLU's gate and up side by side. */
    public int upWidth(int ffnHidden) {
        return (matrices - 1) * ffnHidden;
    }

    /**
     * The MLP width a model file may leave out: 4h for GELU; for SwiGLU Llama's rule, 2/3 of 4h
     * rounded up to a multiple of 256, which keeps the parameter count of a 4h GELU MLP.
     */
    public int defaultFfnHidden(int hidden) {
        if (this == GELU) return 4 * hidden;
        int f = (int) Math.ceil(8.0 * hidden / 3);
        return (f + 255) / 256 * 256;
    }

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static MlpType named(String v) {
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "gelu", "gelu_new", "gelu_pytorch_tanh" -> GELU;
            case "swiglu", "silu" -> SWIGLU;
            default -> throw new PlanInputException("mlp must be gelu or swiglu, got '" + v + "'");
        };
    }
}
