package dev.tandem.api;

/**
 * What a program learns while it trains. Implement the methods you need (each does nothing by
 * default) and pass the callback to {@link Training.Builder#callback}, or pass lambdas to
 * {@link Training.Builder#onStep}, {@link Training.Builder#onEval} and
 * {@link Training.Builder#onCheckpoint}.
 *
 * <p><b>Threads and order.</b> Only rank 0 calls back (with several ranks, the others train
 * silently), and always on rank 0's training thread, between steps: one at a time, never
 * concurrently, so a callback needs no locking, but a slow one slows training, and one that
 * throws stops the run with its exception. For one run the calls come in this order:
 * {@link #onStart} once; then per step {@link #onStep}, then {@link #onEval} if the step ends with an
 * evaluation (every {@link Training.Builder#evalEvery} steps and after the last step), then
 * {@link #onCheckpoint} for each checkpoint committed since the last step boundary; then
 * {@link #onCheckpoint} for saves that were still being written when the last step ended; then
 * {@link #onFinish} once, after the final model is written. With synchronous checkpoints
 * ({@link Training.Builder#checkpointAsync checkpointAsync(false)}) a checkpoint is reported right
 * after the step that took it; asynchronous ones (the default) are written in the background and
 * reported at the first step boundary after their manifest is on disk. {@link #onFinish} is not
 * called when the run fails.
 */
public interface TrainingCallback {
    /** Before the first step. */
    default void onStart(RunInfo run) {}

    /** After each optimizer step. */
    default void onStep(StepInfo step) {}

    /** After each evaluation. */
    default void onEval(EvalInfo eval) {}

    /** After a checkpoint is committed (complete on disk). */
    default void onCheckpoint(CheckpointInfo checkpoint) {}

    /** After the run, its final model written. */
    default void onFinish(TrainingResult result) {}
}
