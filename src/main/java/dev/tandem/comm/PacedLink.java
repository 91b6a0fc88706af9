package dev.tandem.comm;

import java.util.concurrent.locks.LockSupport;

/**
 * A slow link imposed on one rank's outgoing messages (the link between islands): a token bucket
 * without burst, so the link carries at most {@code bytesPerSecond} on average and every message
 * also arrives {@code latencyNanos} late. The payload itself travels at the transport's speed; the
 * sender stamps each message with the time the slow link would deliver its last byte, and the
 * receiver waits for that time before using it ({@link #awaitDelivery}). Messages queue behind
 * each other on the link, as on a real wire, and the two directions of a pair are independent.
 * The stamps compare {@link System#nanoTime()} across processes, which holds for ranks on one
 * host (a throttle for measuring on one machine; between hosts the real network is slow enough).
 */
public final class PacedLink {
    private final double bytesPerSecond;
    private final long latencyNanos;
    private long freeAt = Long.MIN_VALUE; // when the link has sent everything queued so far

    /** @param bytesPerSecond infinity for no bandwidth limit */
    public PacedLink(double bytesPerSecond, double latencySeconds) {
        if (!(bytesPerSecond > 0)) throw new IllegalArgumentException("bytesPerSecond must be > 0: " + bytesPerSecond);
        if (!(latencySeconds >= 0)) throw new IllegalArgumentException("latencySeconds must be >= 0: " + latencySeconds);
        this.bytesPerSecond = bytesPerSecond;
        this.latencyNanos = Math.round(latencySeconds * 1e9);
    }

    /** A link that adds nothing. */
    public static PacedLink unthrottled() {
        return new PacedLink(Double.POSITIVE_INFINITY, 0);
    }

    /** Queues {@code bytes} on the link now; returns when (nanoTime) the slow link delivers them. */
    public synchronized long send(long bytes) {
        long now = System.nanoTime();
        long start = Math.max(now, freeAt);
        long wire = Double.isInfinite(bytesPerSecond) ? 0 : (long) Math.ceil(bytes * 1e9 / bytesPerSecond);
        freeAt = start + wire;
        return freeAt + latencyNanos;
    }

    /** Waits until {@code deliveredAt} (a stamp of {@link #send}) has passed. */
    public static void awaitDelivery(long deliveredAt) {
        for (long left; (left = deliveredAt - System.nanoTime()) > 0; ) LockSupport.parkNanos(left);
    }
}
