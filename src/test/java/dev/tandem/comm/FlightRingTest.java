package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The op log's copy in a mapped file reads back as the log itself, whatever the process did afterwards. */
class FlightRingTest {
    @TempDir Path dir;

    @Test
    void theFileHoldsTheLogsNewestOperationsWhileTheProcessStillRuns() throws IOException {
        Path file = dir.resolve("rank-00001.ring");
        OpLog log = new OpLog(8);
        int[] world = {0, 1, 2}, dp = {1, 2};
        log.begin("world", world, OpKind.BARRIER, 0, 0); // before mirroring: not in the file
        try (FlightRing ring = FlightRing.create(file, 1, 3, 4)) {
            log.mirrorTo(ring);
            for (long seq = 1; seq <= 5; seq++) log.end(log.begin("world", world, OpKind.ALL_REDUCE, seq, 4096 * seq), null);
            log.end(log.begin("dp", dp, OpKind.REDUCE_SCATTER, 7, 128), "rank 2 is gone");
            log.begin("dp", dp, OpKind.ALL_GATHER, 8, 256); // in flight when read
            // Read while still mapped and written, as the launcher reads a stopped rank's ring.
            FlightRing.Contents c = FlightRing.read(file);
            assertThat(c.rank()).isEqualTo(1);
            assertThat(c.worldSize()).isEqualTo(3);
            List<OpLog.Entry> e = c.entries();
            assertThat(e).hasSize(4); // the ring's capacity: the oldest ones were overwritten
            assertThat(e).extracting(OpLog.Entry::seq).containsExactly(4L, 5L, 7L, 8L);
            assertThat(e).extracting(OpLog.Entry::group).containsExactly("world", "world", "dp", "dp");
            assertThat(e.get(0).members()).containsExactly(0, 1, 2);
            assertThat(e.get(3).members()).containsExactly(1, 2);
            assertThat(e).extracting(OpLog.Entry::kind).containsExactly(OpKind.ALL_REDUCE, OpKind.ALL_REDUCE, OpKind.REDUCE_SCATTER, OpKind.ALL_GATHER);
            assertThat(e.get(1).bytes()).isEqualTo(5 * 4096);
            assertThat(e.get(2).error()).isEqualTo("failed");
            assertThat(e.get(1).error()).isNull();
            assertThat(e.get(3).inFlight()).isTrue();
            assertThat(e.get(2).endEpochNanos()).isGreaterThanOrEqualTo(e.get(2).startEpochNanos());
            // the in-memory log agrees with the file on what it still holds
            List<OpLog.Entry> mem = log.recent(4);
            for (int i = 0; i < 4; i++) {
                assertThat(e.get(i).startEpochNanos()).isEqualTo(mem.get(i).startEpochNanos());
                assertThat(e.get(i).endEpochNanos()).isEqualTo(mem.get(i).endEpochNanos());
            }
            log.mirrorTo(null);
        }
        // and after it is unmapped, as the launcher reads a killed rank's
        assertThat(FlightRing.read(file).entries()).extracting(OpLog.Entry::seq).containsExactly(4L, 5L, 7L, 8L);
    }

    @Test
    void anEmptyRingHasNoEntriesAndAnotherFileIsRefused() throws IOException {
        Path file = dir.resolve("r.ring");
        try (FlightRing ignored = FlightRing.create(file, 0, 2, 16)) {
            assertThat(FlightRing.read(file).entries()).isEmpty();
        }
        Path other = Files.writeString(dir.resolve("x.ring"), "{\"rank\":0}");
        assertThatThrownBy(() -> FlightRing.read(other)).isInstanceOf(IOException.class).hasMessageContaining("not a flight ring");
    }
}
