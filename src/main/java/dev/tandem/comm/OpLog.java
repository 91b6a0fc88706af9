package dev.tandem.comm;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Start and end timestamps of the last operations of this rank, in a fixed-size ring. Fault
 * detection compares these across ranks (who is stuck in which collective since when).
 * Timestamps are wall-clock nanoseconds since the epoch, so logs of different hosts line up
 * as well as their clocks do.
 */
public final class OpLog {
    /**
     * One operation of group {@code group} (whose members are the world ranks {@code members});
     * {@code endEpochNanos} is -1 while it runs, {@code error} null on success.
     */
    public record Entry(String group, List<Integer> members, OpKind kind, long seq, long bytes, long startEpochNanos,
                        long endEpochNanos, String error) {
        public boolean inFlight() {
            return endEpochNanos < 0;
        }

        public long durationNanos() {
            return inFlight() ? Clock.epochNanos() - startEpochNanos : endEpochNanos - startEpochNanos;
        }
    }

    // One column per field, so recording an operation allocates nothing (a small collective costs
    // about a microsecond, and two entry objects per operation showed up in its allocation profile);
    // entries are built only when read.
    private final String[] groups;
    private final int[][] members; // the group's own array, shared, never changed: recording copies nothing
    private final OpKind[] kinds;
    private final long[] seqs;
    private final long[] bytes;
    private final long[] starts;
    private final long[] ends;
    private final String[] errors;
    private long next;
    private long nanosInOps;
    private FlightRing ring;

    public OpLog(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be >= 1");
        groups = new String[capacity];
        members = new int[capacity][];
        kinds = new OpKind[capacity];
        seqs = new long[capacity];
        bytes = new long[capacity];
        starts = new long[capacity];
        ends = new long[capacity];
        errors = new String[capacity];
    }

    synchronized long begin(String group, int[] groupMembers, OpKind kind, long seq, long byteCount) {
        long id = next++;
        int slot = slot(id);
        groups[slot] = group;
        members[slot] = groupMembers;
        kinds[slot] = kind;
        seqs[slot] = seq;
        bytes[slot] = byteCount;
        starts[slot] = Clock.epochNanos();
        ends[slot] = -1;
        errors[slot] = null;
        if (ring != null) ring.begin(id, group, groupMembers, kind, seq, byteCount, starts[slot]);
        return id;
    }

    /** Records the end of operation {@code id}; returns how long it took (0 if its entry was overwritten meanwhile). */
    synchronized long end(long id, String error) {
        if (next - id > groups.length) return 0;
        int slot = slot(id);
        ends[slot] = Clock.epochNanos();
        errors[slot] = error;
        if (ring != null) ring.end(id, ends[slot], error != null);
        long took = ends[slot] - starts[slot];
        nanosInOps += took;
        return took;
    }

    /**
     * From now on also records every operation in {@code ring} (null: stop), whose file outlives
     * this process; operations already logged are not copied.
     */
    public synchronized void mirrorTo(FlightRing ring) {
        this.ring = ring;
    }

    /** Up to {@code max} most recent entries, oldest first. */
    public synchronized List<Entry> recent(int max) {
        int n = (int) Math.min(Math.min(max, next), groups.length);
        List<Entry> out = new ArrayList<>(n);
        for (long id = next - n; id < next; id++) out.add(entry(slot(id)));
        return out;
    }

    /** The operation running now, if any. */
    public synchronized Optional<Entry> inFlight() {
        if (next == 0) return Optional.empty();
        int last = slot(next - 1);
        return ends[last] < 0 ? Optional.of(entry(last)) : Optional.empty();
    }

    /**
     * Nanoseconds this rank's operations took from start to end, summed over every operation that
     * has ended (all of them unless one outlived 1024 newer ones). An operation ends only once every member has
     * arrived, so the rank the others wait for spends the least time in them: fail-slow detection
     * ({@link dev.tandem.comm.health.SlowRankDetector}) compares this sum across ranks.
     */
    public synchronized long nanosInOps() {
        return nanosInOps;
    }

    /** Operations recorded since this log was created (including overwritten ones). */
    public synchronized long count() {
        return next;
    }

    private int slot(long id) {
        return (int) (id % groups.length);
    }

    private Entry entry(int slot) {
        return new Entry(groups[slot], java.util.Arrays.stream(members[slot]).boxed().toList(), kinds[slot], seqs[slot], bytes[slot], starts[slot], ends[slot], errors[slot]);
    }
}
