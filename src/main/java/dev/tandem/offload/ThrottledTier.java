package dev.tandem.offload;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;

/**
 * A tier that behaves like a CXL memory expander of stated bandwidth and latency: each access
 * does the real copy on the tier underneath, then waits until the time the stated link would
 * have needed (give or take {@link Link#SLACK}). Reads and writes have separate links (CXL is full duplex); concurrent accesses in
 * one direction queue behind each other, so two threads do not get twice the bandwidth. This is
 * an emulation for testing placement and interleaving on a machine without CXL, and it says so
 * in its name ({@code cxl-like}).
 */
public final class ThrottledTier implements Tier {
    private final Tier inner;
    private final TierSpec spec;
    private final Link readLink = new Link(), writeLink = new Link();

    public ThrottledTier(Tier inner, double readBytesPerS, double writeBytesPerS, long latencyNanos) {
        this.inner = inner;
        this.spec = new TierSpec("cxl-like", inner.spec().capacityBytes(), readBytesPerS, writeBytesPerS, latencyNanos);
    }

    @Override
    public TierSpec spec() {
        return spec;
    }

    @Override
    public void read(long offset, MemorySegment dst) {
        long done = readLink.reserve(spec.readNanos(dst.byteSize()));
        inner.read(offset, dst);
        Link.waitUntil(done);
    }

    @Override
    public void write(long offset, MemorySegment src) {
        long done = writeLink.reserve(spec.writeNanos(src.byteSize()));
        inner.write(offset, src);
        Link.waitUntil(done);
    }

    @Override
    public MemorySegment view(long offset, long bytes) {
        return inner.view(offset, bytes);
    }

    @Override
    public Traffic traffic() {
        return inner.traffic();
    }

    @Override
    public void close() {
        inner.close();
    }

    /**
     * One direction of the emulated link: the time it is busy until. A thread that the scheduler
     * wakes late must not lose link time (a real link does not wait for the OS), so bookings may
     * start up to {@link #SLACK} in the past, and an access waits only once the link is booked
     * more than that ahead: the bandwidth holds on average over a window of {@link #SLACK}, with
     * few sleeps.
     */
    private static final class Link {
        static final long SLACK = 1_000_000;
        private long busyUntil;

        /** Books {@code nanos} of link time after whatever is booked already; returns when it ends. */
        synchronized long reserve(long nanos) {
            busyUntil = Math.max(busyUntil, System.nanoTime() - SLACK) + nanos;
            return busyUntil;
        }

        static void waitUntil(long deadline) {
            long ahead = deadline - System.nanoTime();
            if (ahead > SLACK) LockSupport.parkNanos(ahead);
        }
    }
}
