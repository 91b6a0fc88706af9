package dev.tandem.plan.serve;

import dev.tandem.plan.PlanInputException;

/**
 * One request of a serving trace.
 *
 * @param arrival seconds from the start of the trace
 * @param prompt  prompt tokens (prefilled in one iteration)
 * @param output  tokens to generate (the first comes out of the prefill iteration)
 */
public record ServeRequest(double arrival, int prompt, int output) {
    public ServeRequest {
        if (!(arrival >= 0) || Double.isInfinite(arrival)) throw new PlanInputException("request arrival must be >= 0 seconds, got " + arrival);
        if (prompt < 1) throw new PlanInputException("request prompt must be >= 1 token, got " + prompt);
        if (output < 1) throw new PlanInputException("request output must be >= 1 token, got " + output);
    }

    /** KV-cache tokens the request holds at most: its prompt and all its output. */
    public int maxTokens() {
        return prompt + output;
    }
}
