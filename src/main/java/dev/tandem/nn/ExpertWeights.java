package dev.tandem.nn;

import java.util.List;

/** One expert of an MoE block: a GPT-2 MLP of its own, {@code gelu(x·c_fc + b)·c_proj + b}. */
public record ExpertWeights(Parameter fcWeight, Parameter fcBias, Parameter projWeight, Parameter projBias) {
    public List<Parameter> all() {
        return List.of(fcWeight, fcBias, projWeight, projBias);
    }

    /** Whether this rank holds the expert's values (a strategy may have moved them elsewhere). */
    public boolean held() {
        return fcWeight.value() != null;
    }
}
