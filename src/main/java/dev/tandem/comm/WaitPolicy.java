package dev.tandem.comm;

import java.util.concurrent.locks.LockSupport;

/**
 * How a rank waits when none of its transfers can move: spin, then yield, then sleep in naps.
 *
 * <p>Spinning pays only while the peer runs on another core: its message then arrives within a
 * microsecond or two. When the host has more runnable threads than cores, the peer is often
 * waiting for the very core we spin on, and every nanosecond of spinning delays it: two ranks
 * sharing a core that each spin 10 µs before yielding turn a sub-microsecond exchange into
 * 25 µs. So the spin budget adapts to what the last waits showed: a wait that ended within the
 * budget doubles it (up to {@link #MAX_SPIN_NANOS}), a wait that outlasted it quarters it (down
 * to {@link #MIN_SPIN_NANOS}). That handles other jobs sharing the host, which no rank can see;
 * when this job alone has more ranks on the host than there are cores, a rank never spins. After
 * the spin the rank yields (nearly free when nothing else wants the core, and it hands the core
 * to a peer that does), and after {@link #YIELD_NANOS} it sleeps in short naps, so a long wait
 * never burns a core. A rank of a job that oversubscribes the host yields for longer
 * ({@link #OVERSUBSCRIBED_YIELD_NANOS}) before it naps: its peers are then mostly runnable threads
 * on the same core, a yield hands the core to one of them at once, while a nap (20 µs asked,
 * about 90 µs taken here with the kernel's timer slack) leaves a message that arrives meanwhile
 * waiting (docs/notes/benchmarks-history.md: 8 ranks on 2 cores).
 *
 * <p>One instance per rank, used only by the operation that holds the rank's operation lock.
 */
final class WaitPolicy {
    static final long MIN_SPIN_NANOS = 1_000;
    static final long MAX_SPIN_NANOS = 50_000;
    private static final long YIELD_NANOS = 200_000, OVERSUBSCRIBED_YIELD_NANOS = 2_000_000;
    private static final long SHORT_NAP_NANOS = 20_000, LONG_NAP_NANOS = 200_000, LONG_WAIT_NANOS = 20_000_000;

    private final long minSpinNanos;
    private final long maxSpinNanos;
    private final long yieldNanos;
    private final boolean oversubscribed;
    private long spinNanos;

    /**
     * @param oversubscribed this job has more ranks on this host than CPUs to share between them
     *                       ({@link HostCpus}): never spin
     */
    WaitPolicy(boolean oversubscribed) {
        this.oversubscribed = oversubscribed;
        this.minSpinNanos = oversubscribed ? 0 : MIN_SPIN_NANOS;
        this.maxSpinNanos = oversubscribed ? 0 : MAX_SPIN_NANOS;
        this.yieldNanos = oversubscribed ? OVERSUBSCRIBED_YIELD_NANOS : YIELD_NANOS;
        this.spinNanos = Math.min(maxSpinNanos, 10_000);
    }

    /** One idle round of a wait that began {@code idleNanos} ago. */
    void pause(long idleNanos) {
        if (idleNanos < spinNanos) Thread.onSpinWait();
        else if (idleNanos < spinNanos + yieldNanos) Thread.yield();
        else LockSupport.parkNanos(idleNanos < LONG_WAIT_NANOS ? SHORT_NAP_NANOS : LONG_NAP_NANOS);
    }

    /** A wait ended after {@code idleNanos}: adapt the spin budget to it. */
    void ended(long idleNanos) {
        spinNanos = idleNanos < spinNanos ? Math.min(maxSpinNanos, spinNanos * 2) : Math.max(minSpinNanos, spinNanos / 4);
    }

    boolean oversubscribed() {
        return oversubscribed;
    }

    long spinNanos() {
        return spinNanos;
    }
}
