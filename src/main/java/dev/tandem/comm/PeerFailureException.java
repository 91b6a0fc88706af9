package dev.tandem.comm;

/** A peer died, closed its connection or stopped sending heartbeats. */
public final class PeerFailureException extends CommException {
    private final int peer;

    public PeerFailureException(String message, int peer) {
        super(message);
        this.peer = peer;
    }

    /** World rank of the failed peer. */
    public int peer() {
        return peer;
    }
}
