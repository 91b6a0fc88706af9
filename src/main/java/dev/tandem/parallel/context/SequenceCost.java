package dev.tandem.parallel.context;

import dev.tandem.nn.GPTConfig;

/**
 * Estimated compute of one sequence of L tokens, what the balance scheduler evens out: matrix
 * products grow with L, causal attention with the L(L+1)/2 (query, key) pairs. Units are FLOPs
 * of a forward pass (backward is a fixed multiple, so it does not change a balance).
 *
 * @param perToken FLOPs per token outside attention's score and value products (2 per weight, and the output head)
 * @param perPair  FLOPs per (query, key) pair: q·k and p·v, 2·2·C per layer
 */
public record SequenceCost(double perToken, double perPair) {
    public static SequenceCost of(GPTConfig m) {
        double c = m.nEmbd();
        return new SequenceCost(m.nLayer() * 24.0 * c * c + 2.0 * c * m.vocabSize(), m.nLayer() * 4.0 * c);
    }

    public double of(int length) {
        return perToken * length + perPair * length * (length + 1.0) / 2.0;
    }
}
