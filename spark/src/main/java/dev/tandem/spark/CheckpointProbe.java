package dev.tandem.spark;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * Checks that every executor sees the same checkpoint directory as the driver: a retried stage
 * resumes from the newest checkpoint only if every rank reads what rank 0 wrote, on any node. The
 * driver writes a file with a fresh token; each barrier task, before starting its ranks, reads the
 * token back and writes a file of its own there. A node-local path (a different directory of the
 * same name on each node) or a read-only mount is found here, before training.
 *
 * @param dir   the run's checkpoint directory
 * @param token what the driver wrote into the probe file
 */
record CheckpointProbe(String dir, String token) implements Serializable { // Strings: a Path is not Serializable
    private static final String FILE = ".tandem-spark-probe";

    /** On the driver: creates {@code dir} and the probe file. */
    static CheckpointProbe place(Path dir) {
        CheckpointProbe p = new CheckpointProbe(dir.toString(), UUID.randomUUID().toString());
        try {
            Files.createDirectories(dir);
            Files.writeString(p.file(), p.token, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TandemSparkException("cannot write to the checkpoint directory " + dir + " on the driver (" + e
                    + "): set checkpoint.dir (or run.runs_dir) to a shared directory every node can write");
        }
        return p;
    }

    /** In a task on {@code host}: null when this node sees the driver's probe and can write there, else what is wrong. */
    String problemOn(String host) {
        Path file = file();
        String seen;
        try {
            seen = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            seen = null;
        }
        if (!token.equals(seen)) {
            return "the checkpoint directory " + dir + " on " + host + " is not the one the driver wrote to (its probe file "
                    + (seen == null ? "is missing" : "holds another job's token")
                    + "): set checkpoint.dir (or run.runs_dir) to a shared file system mounted at the same path on every node";
        }
        Path mine = Path.of(dir, FILE + "-" + UUID.randomUUID());
        try {
            Files.writeString(mine, host);
            Files.delete(mine);
        } catch (IOException e) {
            return "the checkpoint directory " + dir + " is not writable on " + host + " (" + e + "): every rank writes its shards there";
        }
        return null;
    }

    private Path file() {
        return Path.of(dir, FILE);
    }

    /** On the driver, after the stage: removes the probe file. */
    void remove() {
        try {
            Files.deleteIfExists(file());
        } catch (IOException ignored) {
            // a leftover probe is harmless: the next job writes its own token over it
        }
    }
}
