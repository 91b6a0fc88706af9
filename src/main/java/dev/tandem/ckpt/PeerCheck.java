package dev.tandem.ckpt;

/**
 * Asked while rank 0 waits for another rank's shard of a save: throws if that rank is known to
 * have failed, so a dead or hung peer ends the wait at once instead of after the commit timeout.
 * The layer that knows the peers' health (the process group's heartbeat) supplies it.
 */
@FunctionalInterface
public interface PeerCheck {
    /** Throws (naming {@code rank} and why) if {@code rank} has failed; returns while it is believed alive. */
    void requireAlive(int rank);

    /** Believes every rank alive (a single process, or tests without a heartbeat). */
    PeerCheck NONE = rank -> { };
}
