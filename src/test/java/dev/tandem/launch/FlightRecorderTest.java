package dev.tandem.launch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.comm.TestRings;
import dev.tandem.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The merged report names, for each collective a rank was stuck in, the members that never arrived. */
class FlightRecorderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    /** A record of {@code rank} whose ops are (group, members, seq, end) with end -1 for in flight. */
    private void record(int rank, long dumpedAt, Object[]... ops) throws Exception {
        ObjectNode n = JSON.createObjectNode();
        n.put("rank", rank);
        n.put("world_size", 3);
        n.put("dumped_at_ns", dumpedAt);
        n.put("error", "x");
        ArrayNode a = n.putArray("ops");
        for (Object[] op : ops) {
            ObjectNode o = a.addObject();
            o.put("group", (String) op[0]);
            ArrayNode m = o.putArray("members");
            for (int r : (int[]) op[1]) m.add(r);
            o.put("op", "all_reduce");
            o.put("seq", (Long) op[2]);
            o.put("bytes", 4096);
            o.put("start_ns", 1_000_000_000L);
            o.put("end_ns", (Long) op[3]);
        }
        Files.writeString(dir.resolve(String.format("rank-%05d.json", rank)), n.toString());
    }

    @Test
    void namesTheMembersThatNeverArrived() throws Exception {
        int[] world = {0, 1, 2}, pair = {0, 1};
        record(0, 4_000_000_000L, new Object[] {"world", world, 6L, 2_000_000_000L}, new Object[] {"world", world, 7L, -1L});
        record(1, 4_000_000_000L, new Object[] {"world", world, 6L, 2_000_000_000L}, new Object[] {"dp", pair, 3L, 2_500_000_000L});
        assertThat(FlightRecorder.report(dir, 3)).containsExactly(
                "rank 0 waited 3.0 s in all_reduce #7 of group 'world' (ranks 0,1,2): rank 1 never arrived (its last there: #6); "
                        + "rank 2 left no record (it died or hung)",
                "rank 1 was in no collective when it stopped (its last, all_reduce #3 of group 'dp', ended 1.5 s before)",
                "rank 2 left no flight record");
    }

    @Test
    void aGroupOfTheSameNameWithOtherMembersIsAnotherGroup() throws Exception {
        record(0, 2_000_000_000L, new Object[] {"dp", new int[] {0, 1}, 5L, -1L});
        record(1, 2_000_000_000L, new Object[] {"dp", new int[] {1, 2}, 9L, 1_500_000_000L}, new Object[] {"dp", new int[] {0, 1}, 5L, -1L});
        assertThat(FlightRecorder.report(dir, 2)).containsExactly(
                "rank 0 waited 1.0 s in all_reduce #5 of group 'dp' (ranks 0,1): every member arrived (the collective itself hung, not a rank)",
                "rank 1 waited 1.0 s in all_reduce #5 of group 'dp' (ranks 0,1): every member arrived (the collective itself hung, not a rank)");
    }

    /**
     * Ranks that were killed or stopped write no dump, but their rings say where they were: one
     * inside the collective the others wait in, one that never reached it.
     */
    @Test
    void theRingsOfKilledOrHungRanksSayWhereTheyStopped() throws Exception {
        int[] world = {0, 1, 2};
        record(0, 4_000_000_000L, new Object[] {"world", world, 6L, 2_000_000_000L}, new Object[] {"world", world, 7L, -1L});
        TestRings.write(dir.resolve("rank-00001.ring"), 1, 3, new TestRings.Op("world", world, 6, true), new TestRings.Op("world", world, 7, false));
        TestRings.write(dir.resolve("rank-00002.ring"), 2, 3, new TestRings.Op("world", world, 6, true));
        List<String> report = FlightRecorder.report(dir, 3);
        assertThat(report).hasSize(3);
        assertThat(report.get(0)).isEqualTo("rank 0 waited 3.0 s in all_reduce #7 of group 'world' (ranks 0,1,2): "
                + "rank 1 arrived and stopped inside it (killed or hung); rank 2 never arrived (its last there: #6)");
        assertThat(report.get(1)).matches("rank 1 \\(read from its ring: it was killed or hung\\) waited [\\d.]+ s in all_reduce #7 of group 'world' "
                + "\\(ranks 0,1,2\\): rank 2 never arrived \\(its last there: #6\\)");
        assertThat(report.get(2)).matches("rank 2 \\(read from its ring: it was killed or hung\\) was in no collective when it stopped "
                + "\\(its last, all_reduce #6 of group 'world', ended [\\d.]+ s before\\)");
    }

    @Test
    void noRecordsNoReport() {
        assertThat(FlightRecorder.report(dir.resolve("none"), 4)).isEmpty();
    }

    @Test
    void aDumpHoldsTheRanksLastOperationsWithTheirGroupsMembers() throws Exception {
        List<ProcessGroup> world = LocalWorld.create(2, CommOptions.defaults());
        Thread peer = Thread.ofPlatform().start(() -> allReduceTwice(world.get(1)));
        allReduceTwice(world.get(0));
        peer.join();
        FlightRecorder.dump(dir, world.get(0), new RuntimeException("rank 1 is gone"));
        var n = JSON.readTree(dir.resolve("rank-00000.json").toFile());
        assertThat(n.path("error").asText()).isEqualTo("rank 1 is gone");
        var ops = n.path("ops");
        assertThat(ops.size()).isGreaterThanOrEqualTo(2);
        var last = ops.get(ops.size() - 1);
        assertThat(last.path("op").asText()).isEqualTo("all_reduce");
        assertThat(last.path("members").toString()).isEqualTo("[0,1]");
        assertThat(last.path("end_ns").asLong()).isGreaterThanOrEqualTo(last.path("start_ns").asLong());
        List<String> report = FlightRecorder.report(dir, 2);
        assertThat(report).hasSize(2);
        assertThat(report.get(0)).matches("rank 0 was in no collective when it stopped \\(its last, all_reduce #\\d+ of group '\\w+', ended [\\d.]+ s before\\)");
        assertThat(report.get(1)).isEqualTo("rank 1 left no flight record");
        world.forEach(ProcessGroup::close);
    }

    private static void allReduceTwice(ProcessGroup g) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(64);
            g.allReduce(buf, DType.F32, 16, ReduceOp.SUM);
            g.allReduce(buf, DType.F32, 16, ReduceOp.SUM);
        }
    }
}
