package dev.tandem.launch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.comm.OpLog;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The flight recorder: when a rank fails, it writes the last operations of its op log (group,
 * members, operation, sequence number, size, start and end) to {@code <dir>/rank-NNNNN.json}; the
 * launcher merges the files of all ranks into a few lines that say, for each collective a rank was
 * stuck in, which members never arrived. A rank that crashed or hung writes nothing, and that
 * absence is itself the finding.
 */
public final class FlightRecorder {
    /** Operations each rank dumps: enough to see several steps of collectives back. */
    static final int DUMPED_OPS = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    private FlightRecorder() {}

    /** Where the ranks of the run in {@code runDir} leave their records. */
    public static Path dir(Path runDir) {
        return runDir.resolve("flight");
    }

    /** Writes this rank's record of {@code world}'s op log, with why it stopped. Never throws: a dump must not hide the failure. */
    public static void dump(Path dir, ProcessGroup world, Throwable why) {
        try {
            ObjectNode n = JSON.createObjectNode();
            n.put("rank", world.rank());
            n.put("world_size", world.size());
            n.put("dumped_at_ns", System.currentTimeMillis() * 1_000_000L);
            n.put("error", String.valueOf(why.getMessage()));
            ArrayNode ops = n.putArray("ops");
            for (OpLog.Entry e : world.opLog().recent(DUMPED_OPS)) {
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
            AtomicFiles.writeString(dir.resolve(String.format("rank-%05d.json", world.rank())), n.toPrettyString());
        } catch (RuntimeException e) {
            System.err.println("tandem: no flight record written to " + dir + ": " + e.getMessage());
        }
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
        if (records.isEmpty()) return List.of();
        List<String> lines = new ArrayList<>();
        for (JsonNode rec : records.values()) {
            int rank = rec.path("rank").asInt();
            JsonNode stuck = null;
            for (JsonNode op : rec.path("ops")) if (op.path("end_ns").asLong() < 0 || op.has("error")) stuck = op;
            if (stuck == null) {
                lines.add("rank " + rank + " was in no collective when it stopped");
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
                }
            }
            double waited = (rec.path("dumped_at_ns").asLong() - stuck.path("start_ns").asLong()) / 1e9;
            lines.add(String.format("rank %d waited %.1f s in %s #%d of group '%s' (ranks %s)%s", rank, waited,
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

    private static String members(JsonNode op) {
        List<String> m = new ArrayList<>();
        for (JsonNode r : op.path("members")) m.add(r.asText());
        return String.join(",", m);
    }
}
