package dev.tandem.launch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.comm.FlightRing;
import dev.tandem.comm.OpLog;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.io.AtomicFiles;
import dev.tandem.train.SlowRankEviction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The flight recorder. Every rank of a job mirrors its op log (group, members, operation, sequence
 * number, size, start and end of each collective) into a memory-mapped ring file,
 * {@code <dir>/rank-NNNNN.ring}, that survives the process; a rank that fails by itself also writes
 * its last operations with the error to {@code <dir>/rank-NNNNN.json}. After a failed attempt the
 * launcher merges what every rank left — the dump where there is one, else the ring of a rank that
 * was killed or hung — into a few lines that say, for each collective a rank was stuck in, which
 * members never arrived, and where each silent rank was when it stopped.
 */
public final class FlightRecorder {
    /** Operations each rank dumps: enough to see several steps of collectives back. */
    static final int DUMPED_OPS = 256;
    /** Operations each rank's ring holds: the same window as the in-memory op log. */
    static final int RING_OPS = 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private FlightRecorder() {}

    /** Where the ranks of the run in {@code runDir} leave their records. */
    public static Path dir(Path runDir) {
        return runDir.resolve("flight");
    }

    /**
     * Runs {@code body}, one rank's training in a job of several, with {@code world}'s op log
     * mirrored into its ring in {@code dir}: deleted when the body returns, kept when it fails, and
     * then joined by the rank's own dump with the error. A job that stops to leave a slow rank out
     * ({@link SlowRankEviction}) has not failed: its rings go and nothing is dumped.
     */
    public static <T> T recording(Path dir, ProcessGroup world, Supplier<T> body) {
        if (world.size() == 1) return body.get();
        Recording ring = start(dir, world);
        try {
            T result = body.get();
            if (ring != null) ring.close(true);
            return result;
        } catch (RuntimeException | Error e) {
            boolean evicting = e instanceof TandemException t && t.exitCode() == SlowRankEviction.EXIT_CODE;
            if (ring != null) ring.close(evicting);
            if (!evicting) dump(dir, world, e);
            throw e;
        }
    }

    /** This rank's ring, mirrored from its op log until {@link #close}. */
    private static final class Recording {
        private final ProcessGroup world;
        private final FlightRing ring;
        private final Path file;

        private Recording(ProcessGroup world, FlightRing ring, Path file) {
            this.world = world;
            this.ring = ring;
            this.file = file;
        }

        /** Stops recording; the ring file stays for the launcher's report unless {@code completed}. */
        void close(boolean completed) {
            world.opLog().mirrorTo(null);
            ring.close();
            if (completed) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    System.err.println("tandem: cannot delete the flight ring " + file + ": " + e.getMessage());
                }
            }
        }
    }

    /**
     * Starts mirroring {@code world}'s op log into this rank's ring file in {@code dir}; null (with
     * a warning) where the file cannot be made, since a job must not fail for want of its recorder.
     */
    private static Recording start(Path dir, ProcessGroup world) {
        Path file = ringFile(dir, world.rank());
        try {
            Files.createDirectories(dir);
            FlightRing ring = FlightRing.create(file, world.rank(), world.size(), RING_OPS);
            world.opLog().mirrorTo(ring);
            return new Recording(world, ring, file);
        } catch (IOException | UncheckedIOException e) {
            System.err.println("tandem: no flight ring for rank " + world.rank() + " in " + dir + ": " + e.getMessage());
            return null;
        }
    }

    private static Path ringFile(Path dir, int rank) {
        return dir.resolve(String.format("rank-%05d.ring", rank));
    }

    /** Writes this rank's record of {@code world}'s op log, with why it stopped. Never throws: a dump must not hide the failure. */
    public static void dump(Path dir, ProcessGroup world, Throwable why) {
        try {
            ObjectNode n = JSON.createObjectNode();
            n.put("rank", world.rank());
            n.put("world_size", world.size());
            n.put("dumped_at_ns", System.currentTimeMillis() * 1_000_000L);
            n.put("error", String.valueOf(why.getMessage()));
            putOps(n, world.opLog().recent(DUMPED_OPS));
            AtomicFiles.writeString(dir.resolve(String.format("rank-%05d.json", world.rank())), n.toPrettyString());
        } catch (RuntimeException e) {
            System.err.println("tandem: no flight record written to " + dir + ": " + e.getMessage());
        }
    }

    private static void putOps(ObjectNode record, List<OpLog.Entry> entries) {
        ArrayNode ops = record.putArray("ops");
        for (OpLog.Entry e : entries) {
            ObjectNode o = ops.addObject();
            o.put("group", e.group());
            ArrayNode m = o.putArray("members");
            e.members().forEach(m::add);
            o.put("op", e.kind().label());
            o.put("seq", e.seq());
            o.put("bytes", e.bytes());
            o.put("start_ns", e.startEpochNanos());
            o.put("end_ns", e.endEpochNanos());
            if (e.error() != null) o.put("error", e.error());
        }
    }

    /** A rank's ring as the record it would have dumped, seen at {@code nowNanos}; marked as read from the ring. */
    private static ObjectNode fromRing(FlightRing.Contents ring, long nowNanos) {
        ObjectNode n = JSON.createObjectNode();
        n.put("rank", ring.rank());
        n.put("world_size", ring.worldSize());
        n.put("dumped_at_ns", nowNanos);
        n.put("from_ring", true);
        putOps(n, ring.entries());
        return n;
    }

    /** Deletes the records of an earlier attempt, so a report speaks of this one only. */
    static void clear(Path dir) {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) Files.deleteIfExists(f);
        } catch (IOException e) {
            System.err.println("tandem: cannot clear old flight records in " + dir + ": " + e.getMessage());
        }
    }

    /**
     * The merged report of the records in {@code dir} for a job of {@code worldSize} ranks, one
     * line per finding; empty when no rank left a record.
     */
    static List<String> report(Path dir, int worldSize) {
        Map<Integer, JsonNode> records = new TreeMap<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(p -> p.getFileName().toString().matches("rank-\\d+\\.json")).toList()) {
                    JsonNode n = JSON.readTree(f.toFile());
                    records.put(n.path("rank").asInt(), n);
                }
            } catch (IOException e) {
                return List.of("flight records in " + dir + " unreadable: " + e.getMessage());
            }
        }
        long now = System.currentTimeMillis() * 1_000_000L;
        for (int r = 0; r < worldSize; r++) {
            Path ring = ringFile(dir, r);
            if (records.containsKey(r) || !Files.isRegularFile(ring)) continue;
            try {
                records.put(r, fromRing(FlightRing.read(ring), now));
            } catch (IOException e) {
                System.err.println("tandem: flight ring " + ring + " unreadable: " + e.getMessage());
            }
        }
        if (records.isEmpty()) return List.of();
        List<String> lines = new ArrayList<>();
        for (JsonNode rec : records.values()) {
            int rank = rec.path("rank").asInt();
            String who = rec.path("from_ring").asBoolean() ? "rank " + rank + " (read from its ring: it was killed or hung)" : "rank " + rank;
            JsonNode stuck = null, last = null;
            for (JsonNode op : rec.path("ops")) {
                if (op.path("end_ns").asLong() < 0 || op.has("error")) stuck = op;
                last = op;
            }
            if (stuck == null) {
                lines.add(who + " was in no collective when it stopped" + (last == null ? "" : String.format(
                        " (its last, %s #%d of group '%s', ended %.1f s before)", last.path("op").asText(), last.path("seq").asLong(),
                        last.path("group").asText(), Math.max(0, rec.path("dumped_at_ns").asLong() - last.path("end_ns").asLong()) / 1e9)));
                continue;
            }
            List<String> absent = new ArrayList<>();
            for (JsonNode m : stuck.path("members")) {
                int peer = m.asInt();
                if (peer == rank) continue;
                JsonNode theirs = records.get(peer);
                if (theirs == null) {
                    absent.add("rank " + peer + " left no record (it died or hung)");
                    continue;
                }
                long reached = reached(theirs, stuck);
                if (reached < stuck.path("seq").asLong()) {
                    absent.add("rank " + peer + " never arrived (its last there: " + (reached < 0 ? "none" : "#" + reached) + ")");
                } else if (theirs.path("from_ring").asBoolean() && inFlight(theirs, stuck)) {
                    // It arrived, then stopped answering: the ring of a killed or stopped rank shows it inside the collective.
                    absent.add("rank " + peer + " arrived and stopped inside it (killed or hung)");
                }
            }
            double waited = (rec.path("dumped_at_ns").asLong() - stuck.path("start_ns").asLong()) / 1e9;
            lines.add(String.format("%s waited %.1f s in %s #%d of group '%s' (ranks %s)%s", who, waited,
                    stuck.path("op").asText(), stuck.path("seq").asLong(), stuck.path("group").asText(), members(stuck),
                    absent.isEmpty() ? ": every member arrived (the collective itself hung, not a rank)" : ": " + String.join("; ", absent)));
        }
        for (int r = 0; r < worldSize; r++) {
            if (!records.containsKey(r)) lines.add("rank " + r + " left no flight record");
        }
        return lines;
    }

    /** The highest sequence number {@code rec} reached in the group of {@code op} (same name and members), or -1. */
    private static long reached(JsonNode rec, JsonNode op) {
        long best = -1;
        for (JsonNode o : rec.path("ops")) {
            if (o.path("group").asText().equals(op.path("group").asText()) && o.path("members").equals(op.path("members"))) {
                best = Math.max(best, o.path("seq").asLong());
            }
        }
        return best;
    }

    /** Whether {@code rec}'s entry for the collective {@code op} (same group, members and number) never ended. */
    private static boolean inFlight(JsonNode rec, JsonNode op) {
        for (JsonNode o : rec.path("ops")) {
            if (o.path("seq").asLong() == op.path("seq").asLong() && o.path("group").asText().equals(op.path("group").asText())
                    && o.path("members").equals(op.path("members"))) {
                return o.path("end_ns").asLong() < 0;
            }
        }
        return false;
    }

    private static String members(JsonNode op) {
        List<String> m = new ArrayList<>();
        for (JsonNode r : op.path("members")) m.add(r.asText());
        return String.join(",", m);
    }
}
