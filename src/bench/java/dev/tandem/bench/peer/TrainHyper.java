package dev.tandem.bench.peer;

/**
 * AdamW settings both engines use in the benchmark: constant learning rate, β = (0.9, 0.95),
 * ε = 1e-8, weight decay 0.1 on matrices only (not biases, LayerNorm gains, embeddings), as the
 * Tandem trainer does. No gradient clipping on either side (the libtorch C++ API exposed by the
 * presets has no clip_grad_norm_), so both time exactly forward + backward + AdamW.
 */
final class TrainHyper {
    static final float LR = 3e-4f;
    static final float BETA1 = 0.9f, BETA2 = 0.95f, EPS = 1e-8f, WEIGHT_DECAY = 0.1f;
    static final long INIT_SEED = 1234;
    static final long DATA_SEED = 42;

    private TrainHyper() {}
}
