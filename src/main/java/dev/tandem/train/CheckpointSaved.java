package dev.tandem.train;

import java.nio.file.Path;

/**
 * A committed checkpoint, as listeners learn of it: its manifest is written, so {@code dir} is
 * complete and loads (for resuming, {@code tandem generate} or export) until retention
 * ({@code checkpoint.keep_last}) deletes it.
 *
 * @param step optimizer steps done when it was taken
 * @param dir  its step directory, e.g. {@code runs/x/checkpoints/step-00000100}
 */
public record CheckpointSaved(long step, Path dir) {}
