package dev.tandem.ckpt;

import dev.tandem.TandemException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of a run: one directory {@code step-NNNNNNNN} per save under a root. Finds the
 * newest valid one (skipping, and saying why, any that fail to verify) and applies retention.
 */
public final class Checkpoints {
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d+)");

    private Checkpoints() {}

    public static String dirName(long step) {
        return String.format("step-%08d", step);
    }

    /** Step directories under {@code root} with their steps, newest first. */
    static List<Path> newestFirst(Path root) {
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> Files.isDirectory(p) && STEP_DIR.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(Checkpoints::stepOf).reversed()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static long stepOf(Path dir) {
        Matcher m = STEP_DIR.matcher(dir.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * Opens the newest checkpoint under {@code root} that verifies completely; each newer one that
     * does not is reported to {@code log} with the reason. Null when there is none.
     */
    public static Checkpoint latest(Path root, Consumer<String> log) {
        for (Path dir : newestFirst(root)) {
            try {
                return Checkpoint.open(dir);
            } catch (TandemException e) {
                log.accept("skipping " + dir + ": " + e.getMessage());
            }
        }
        return null;
    }

    /**
     * Retention: of the complete checkpoints (those with a manifest), keeps the newest
     * {@code keepLast} and every one whose step is a multiple of {@code keepEvery} (0 = none),
     * and deletes the rest, plus any incomplete directory older than the newest complete one
     * (what a crashed save leaves). {@code keepLast} 0 keeps everything.
     *
     * @return the directories deleted
     */
    public static List<Path> prune(Path root, int keepLast, int keepEvery, Consumer<String> log) {
        List<Path> deleted = new ArrayList<>();
        if (keepLast <= 0) return deleted;
        int complete = 0;
        boolean seenComplete = false;
        for (Path dir : newestFirst(root)) {
            boolean ok = Files.isRegularFile(dir.resolve(Manifest.FILE));
            long step = stepOf(dir);
            boolean keep;
            if (ok) {
                complete++;
                keep = complete <= keepLast || (keepEvery > 0 && step % keepEvery == 0);
                seenComplete = true;
            } else {
                keep = !seenComplete; // newer than every complete one: maybe still being written
            }
            if (!keep) {
                delete(dir);
                deleted.add(dir);
                log.accept("checkpoint: removed " + dir + (ok ? " (retention)" : " (incomplete)"));
            }
        }
        return deleted;
    }

    /** Deletes a checkpoint directory, manifest first, so a half-deleted one is never taken for valid. */
    static void delete(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(Manifest.FILE));
            try (Stream<Path> s = Files.list(dir)) {
                for (Path f : s.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw new TandemException("cannot delete old checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }
}
