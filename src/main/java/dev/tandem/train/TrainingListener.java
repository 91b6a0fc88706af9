package dev.tandem.train;

/**
 * What a training run reports as it goes. The metrics log (metrics.jsonl) is one listener; other
 * sinks and a program's own callbacks are listeners alike, passed to the {@link Trainer}. Only rank
 * 0 calls them (the rank that prints and writes the run's files), on the training thread, between
 * steps: a slow listener slows training, and one that throws stops the run with its error.
 */
public interface TrainingListener extends AutoCloseable {
    /** Before the first step of this invocation. */
    default void started(RunStart start) {}

    /** After each optimizer step. */
    default void step(StepMetrics m) {}

    /** After each evaluation. */
    default void eval(EvalMetrics m) {}

    /**
     * After a checkpoint is committed (its manifest written: complete and loadable). Like the
     * others, called on the training thread between steps: with {@code checkpoint.async = false}
     * right after the step that saved it (after that step's {@link #step} and {@link #eval});
     * with asynchronous saves, whose writing goes on in the background, at the first step boundary
     * after the manifest is written, and for saves still being written when the last step ends,
     * once they are done, before {@link #finished}. Every committed save is reported once, in order.
     */
    default void checkpoint(CheckpointSaved c) {}

    /** After the last step of this invocation, before the model is written. */
    default void finished(Trainer.Result result) {}

    /** Releases what the listener holds (files); called once, whether the run succeeded or not. */
    @Override
    default void close() {}
}
