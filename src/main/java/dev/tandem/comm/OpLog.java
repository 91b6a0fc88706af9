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
    /** One operation; {@code endEpochNanos} is -1 while it runs, {@code error} null on success. */
    public record Entry(String group, OpKind kind, long seq, long bytes, long startEpochNanos, long endEpochNanos,
                        String error) {
        public boolean inFlight() {
            return endEpochNanos < 0;
        }

        public long durationNanos() {
            return inFlight() ? Clock.epochNanos() - startEpochNanos : endEpochNanos - startEpochNanos;
        }
    }

    private final Entry[] ring;
    private long next;

    public OpLog(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be >= 1");
        this.ring = new Entry[capacity];
    }

    synchronized long begin(String group, OpKind kind, long seq, long bytes) {
        long id = next++;
        ring[(int) (id % ring.length)] = new Entry(group, kind, seq, bytes, Clock.epochNanos(), -1, null);
        return id;
    }

    /** Records the end of operation {@code id}; returns how long it took (0 if its entry was overwritten meanwhile). */
    synchronized long end(long id, String error) {
        if (next - id > ring.length) return 0;
        int slot = (int) (id % ring.length);
        Entry e = ring[slot];
        ring[slot] = new Entry(e.group(), e.kind(), e.seq(), e.bytes(), e.startEpochNanos(), Clock.epochNanos(), error);
        return ring[slot].durationNanos();
    }

    /** Up to {@code max} most recent entries, oldest first. */
    public synchronized List<Entry> recent(int max) {
        int n = (int) Math.min(Math.min(max, next), ring.length);
        List<Entry> out = new ArrayList<>(n);
        for (long id = next - n; id < next; id++) out.add(ring[(int) (id % ring.length)]);
        return out;
    }

    /** The operation running now, if any. */
    public synchronized Optional<Entry> inFlight() {
        if (next == 0) return Optional.empty();
        Entry last = ring[(int) ((next - 1) % ring.length)];
        return last.inFlight() ? Optional.of(last) : Optional.empty();
    }

    /** Operations recorded since this log was created (including overwritten ones). */
    public synchronized long count() {
        return next;
    }
}
