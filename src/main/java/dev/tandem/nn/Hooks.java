package dev.tandem.nn;

/**
 * Points where a parallel strategy attaches to a model from outside. Module names are the
 * Hugging Face prefixes ({@code wte}, {@code h.3}, {@code ln_f}); a strategy maps them to the
 * parameters it manages. All methods default to doing nothing.
 */
public interface Hooks {
    /** Before the forward pass of {@code module} (e.g. all-gather its sharded parameters). */
    default void beforeForward(String module) {}

    /** After the forward pass of {@code module} (e.g. free gathered parameters). */
    default void afterForward(String module) {}

    /** Before the backward pass of {@code module} (e.g. gather parameters again). */
    default void beforeBackward(String module) {}

    /** After the backward pass of {@code module}. */
    default void afterBackward(String module) {}

    /** The gradient of {@code p} is complete for this micro-batch (e.g. launch its all-reduce). */
    default void onGradientReady(Parameter p) {}

    /** Before the optimizer updates parameters (e.g. wait for gradient communication). */
    default void beforeOptimizerStep() {}

    /** After the optimizer updated parameters (e.g. all-gather updated shards, snapshot). */
    default void afterOptimizerStep() {}

    Hooks NONE = new Hooks() {};
}
