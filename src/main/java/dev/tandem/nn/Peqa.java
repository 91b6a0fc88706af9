package dev.tandem.nn;

import java.util.List;

/**
 * Parameter-efficient and quantization-aware fine-tuning (PEQA, Kim et al. 2023): every linear
 * layer's weight (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj of each block) is quantized per
 * output channel to 3 or 4 bits, asymmetric, and only the per-channel scales train; everything
 * else (embeddings and the tied output head, LayerNorms, biases) is frozen. Trainable parameters
 * are then Σ out_features over the linear layers. Applied to a model from outside, before a plan
 * wraps it; the model's forward is unchanged ({@link Ops#linear} runs the packed weights).
 */
public final class Peqa {
    private Peqa() {}

    /** The linear layers' weights, the ones PEQA quantizes. */
    public static boolean isLinearWeight(String name) {
        return name.startsWith("h.") && name.endsWith(".weight") && (name.contains(".attn.c_") || name.contains(".mlp.c_"));
    }

    /**
     * Quantizes {@code model}'s linear layers to {@code bits} and freezes every other parameter;
     * returns the trainable parameters. A layer that is already quantized to {@code bits} (a model
     * restored from a PEQA checkpoint) keeps its codes and scales.
     */
    public static List<Parameter> apply(GPT model, int bits) {
        for (Parameter p : model.parameters()) {
            if (isLinearWeight(p.name())) {
                if (p.quantized() == null) {
                    p.quantize(bits);
                } else if (p.quantized().bits() != bits) {
                    throw new IllegalArgumentException(p.name() + " is quantized to " + p.quantized().bits() + " bits, not " + bits);
                }
            } else {
                p.freeze();
            }
        }
        return model.parameters().stream().filter(p -> !p.frozen()).toList();
    }
}
