package dev.tandem.comm.health;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Measures the round-trip time of every pair of ranks in a group: the per-connection latency
 * matrix from which {@link LinkClassifier} tells a slow link from a slow endpoint. Pairs meet in
 * the rounds of a round-robin tournament (each rank in at most one pair per round, n−1 rounds),
 * and each pair bounces a small message a few times each way; each rank keeps, per peer, the
 * fastest of its round trips, since a delay on the link delays every one of them while a
 * descheduled process delays only some.
 */
public final class LinkProbe {
    private final int bytes;
    private final int repeats;

    /**
     * @param bytes   payload of each message (a few KiB: latency with a little bandwidth)
     * @param repeats round trips each way per pair
     */
    public LinkProbe(int bytes, int repeats) {
        if (bytes < 1 || repeats < 1) throw new IllegalArgumentException("bytes and repeats must be >= 1");
        this.bytes = bytes;
        this.repeats = repeats;
    }

    /**
     * The matrix of one probe: {@code rttMs[i][j]} is the round trip to j as rank i timed it (diagonal
     * 0), {@code transport[i][j]} the kind of connection between them.
     */
    public record Matrix(double[][] rttMs, String[][] transport) {}

    private static final List<String> TRANSPORTS = List.of("self", "local", "shm", "tcp");

    /** Every rank of {@code group} calls this; every rank gets the whole matrix. */
    public Matrix measure(ProcessGroup group) {
        int n = group.size(), me = group.rank();
        double[] row = new double[n];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msg = arena.allocate(bytes);
            int players = n + (n % 2); // an odd group gets a "bye" player
            for (int round = 0; round < players - 1; round++) {
                int peer = opponent(me, round, players);
                if (peer >= n) continue;
                row[peer] = bounce(group, msg, peer, me < peer);
            }
            // each rank's row: n round trips, then n transport codes
            MemorySegment mine = arena.allocate(8L * n, 4), all = arena.allocate(8L * n * n, 4);
            for (int j = 0; j < n; j++) {
                mine.setAtIndex(ValueLayout.JAVA_FLOAT, j, (float) row[j]);
                mine.setAtIndex(ValueLayout.JAVA_FLOAT, n + j, TRANSPORTS.indexOf(group.transport(j)));
            }
            group.allGather(mine, all, DType.F32, 2L * n);
            double[][] rtt = new double[n][n];
            String[][] transport = new String[n][n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    rtt[i][j] = all.getAtIndex(ValueLayout.JAVA_FLOAT, 2L * n * i + j);
                    int code = (int) all.getAtIndex(ValueLayout.JAVA_FLOAT, 2L * n * i + n + j);
                    transport[i][j] = code >= 0 ? TRANSPORTS.get(code) : "other";
                }
            }
            return new Matrix(rtt, transport);
        }
    }

    /** The fastest round trip to {@code peer} this rank timed; the pair takes turns starting the bounce. */
    private double bounce(ProcessGroup g, MemorySegment msg, int peer, boolean first) {
        long best = Long.MAX_VALUE;
        for (int turn = 0; turn < 2; turn++) {
            boolean starts = (turn == 0) == first;
            for (int i = 0; i < repeats; i++) {
                if (starts) {
                    long t = System.nanoTime();
                    g.send(msg, DType.U8, bytes, peer);
                    g.recv(msg, DType.U8, bytes, peer);
                    best = Math.min(best, System.nanoTime() - t);
                } else {
                    g.recv(msg, DType.U8, bytes, peer);
                    g.send(msg, DType.U8, bytes, peer);
                }
            }
        }
        return best / 1e6;
    }

    /** The circle method: player {@code players - 1} stays put, the others rotate; returns who {@code me} meets in {@code round}. */
    static int opponent(int me, int round, int players) {
        int m = players - 1;
        if (me == m) return round;
        if (me == round) return m;
        return Math.floorMod(2 * round - me, m);
    }
}
