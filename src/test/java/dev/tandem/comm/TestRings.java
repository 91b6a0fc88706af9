package dev.tandem.comm;

import java.nio.file.Path;

/** Writes flight rings as a rank would have left them, for tests of the launcher's report. */
public final class TestRings {
    /** One operation: {@code ended} false leaves it in flight. */
    public record Op(String group, int[] members, long seq, boolean ended) {}

    private TestRings() {}

    public static void write(Path file, int rank, int worldSize, Op... ops) {
        OpLog log = new OpLog(64);
        try (FlightRing ring = FlightRing.create(file, rank, worldSize, 64)) {
            log.mirrorTo(ring);
            for (Op op : ops) {
                long id = log.begin(op.group(), op.members(), OpKind.ALL_REDUCE, op.seq(), 4096);
                if (op.ended()) log.end(id, null);
            }
        }
    }
}
