package dev.tandem.api;

import dev.tandem.train.Sampler;

/**
 * How {@link TrainedModel} picks each next token: temperature scaling, then top-k, then top-p
 * (nucleus) truncation, then a draw from a generator seeded with {@code seed}, so the same
 * settings give the same text.
 *
 * @param temperature 0 picks the most likely token (greedy); higher is more random
 * @param topK        keep the k most likely tokens; 0 keeps all
 * @param topP        keep the most likely tokens whose probabilities sum to this, in (0, 1]
 * @param seed        the sampling seed
 */
public record Sampling(double temperature, int topK, double topP, long seed) {
    /** Checks the values; a bad one throws {@link dev.tandem.TandemException} naming it. */
    public Sampling {
        sampler(temperature, topK, topP, seed);
    }

    /** What {@code tandem generate} uses by default: temperature 0.8, top-k off, top-p 0.95, seed 1. */
    public static Sampling defaults() {
        return new Sampling(0.8, 0, 0.95, 1);
    }

    /** Always the most likely token. */
    public static Sampling greedy() {
        return new Sampling(0, 0, 1, 1);
    }

    /** These settings with another seed. */
    public Sampling withSeed(long newSeed) {
        return new Sampling(temperature, topK, topP, newSeed);
    }

    /** These settings with another temperature. */
    public Sampling withTemperature(double t) {
        return new Sampling(t, topK, topP, seed);
    }

    Sampler sampler() {
        return sampler(temperature, topK, topP, seed);
    }

    private static Sampler sampler(double temperature, int topK, double topP, long seed) {
        return new Sampler((float) temperature, topK, (float) topP, seed);
    }
}
