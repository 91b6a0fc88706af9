package dev.tandem.comm;

/** A peer died, closed its connection or stopped sending heartbeats. */
public final class PeerFailureException extends CommException {
    private final int peer;

    /**
     * The exit code of a rank that stops because of this, so a launcher that sees several ranks
     * exit at once can tell the rank that failed from those that stopped because it was gone.
     */
    public static final int EXIT_CODE = 3;

    public PeerFailureException(String message, int peer) {
        super(message, EXIT_CODE);
        this.peer = peer;
    }

    /** World rank of the failed peer. */
    public int peer() {
        return peer;
    }
}
