package dev.tandem.api;

import java.nio.file.Path;

/**
 * A committed checkpoint, as {@link TrainingCallback#onCheckpoint} learns it: its manifest is
 * written, so the directory is complete; {@link TrainedModel#load} and a resumed training
 * ({@link Training.Builder#resume}) read it, until retention ({@link Training.Builder#keepLast})
 * deletes it.
 *
 * @param step optimizer steps done when it was taken
 * @param dir  its directory, {@code <checkpoints>/step-NNNNNNNN}
 */
public record CheckpointInfo(long step, Path dir) {}
