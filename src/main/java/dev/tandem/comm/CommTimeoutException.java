package dev.tandem.comm;

import java.util.List;

/** A blocking operation did not complete within its timeout; {@link #peers()} were not heard from. */
public final class CommTimeoutException extends CommException {
    private final List<Integer> peers;

    public CommTimeoutException(String message, List<Integer> peers) {
        super(message);
        this.peers = List.copyOf(peers);
    }

    /** World ranks the operation was still waiting for. */
    public List<Integer> peers() {
        return peers;
    }
}
