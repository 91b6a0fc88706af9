package dev.tandem.plan;

import java.util.Locale;

/**
 * How a model encodes positions. Learned positions (GPT-2/3) are a seq × hidden table of
 * parameters on the first pipeline stage, with its gradient and optimizer state; rotary
 * embeddings (RoPE, Llama) have no parameters and cost one element-wise pass over Q and K.
 */
public enum Positions {
    LEARNED,
    ROPE;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Positions named(String v) {
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "learned", "absolute" -> LEARNED;
            case "rope", "rotary" -> ROPE;
            default -> throw new PlanInputException("positions must be learned or rope, got '" + v + "'");
        };
    }
}
