package dev.tandem.train.config;

import dev.tandem.TandemException;
import java.nio.file.Path;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * {@code [checkpoint]}: when to save, where, what to keep, and what to resume from (docs/CHECKPOINTS.md).
 *
 * @param every     save every this many optimizer steps (0: off)
 * @param steps     also save after these steps, e.g. {@code "500,1200"} (empty: none)
 * @param dir       where checkpoints go (empty: {@code <run.runs_dir>/<run.name>/checkpoints})
 * @param keepLast  keep the newest this many (0: all)
 * @param keepEvery also keep every checkpoint whose step is a multiple of this (0: none)
 * @param resume    {@code ""} start fresh, {@code latest}, or a checkpoint directory
 * @param async     copy state aside and write in the background while training goes on
 */
public record CheckpointSection(int every, String steps, String dir, int keepLast, int keepEvery, String resume, boolean async) {
    public CheckpointSection {
        if (every < 0 || keepLast < 0 || keepEvery < 0) {
            throw new TandemException("checkpoint.every, checkpoint.keep_last and checkpoint.keep_every must be >= 0 (0 = off / keep all)");
        }
        if (steps == null || dir == null || resume == null) throw new TandemException("checkpoint.steps, .dir and .resume must be strings");
        parseSteps(steps);
    }

    /** {@code steps} as a set; empty when not set. */
    public SortedSet<Long> saveSteps() {
        return parseSteps(steps);
    }

    /** Whether any save is asked for. */
    public boolean enabled() {
        return every > 0 || !steps.isBlank();
    }

    /** Where checkpoints go: {@code dir}, or {@code <runsDir>/<name>/checkpoints}. */
    public Path root(RunSection run) {
        return dir.isEmpty() ? Path.of(run.runsDir(), run.name(), "checkpoints") : Path.of(dir);
    }

    /** Whether to save after {@code stepsDone} optimizer steps: every {@code every}, at {@code steps}, and at the invocation's last step. */
    public boolean savesAfter(long stepsDone, int lastStep) {
        if (!enabled()) return false;
        return (every > 0 && stepsDone % every == 0) || stepsDone == lastStep || saveSteps().contains(stepsDone);
    }

    private static SortedSet<Long> parseSteps(String steps) {
        TreeSet<Long> out = new TreeSet<>();
        if (steps.isBlank()) return out;
        for (String part : steps.split(",")) {
            long step;
            try {
                step = Long.parseLong(part.strip());
            } catch (NumberFormatException e) {
                step = 0;
            }
            if (step < 1) {
                throw new TandemException("checkpoint.steps must be optimizer step counts >= 1 separated by commas (e.g. \"500,1200\"), got '"
                        + steps + "'");
            }
            out.add(step);
        }
        return out;
    }
}
