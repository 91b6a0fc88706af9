package dev.tandem.comm;

/** Internal signal from a link: the peer's end is gone. The exchange adds the operation context. */
final class LinkClosedException extends RuntimeException {
    final int peer;

    LinkClosedException(int peer, String reason) {
        super(reason, null, false, false);
        this.peer = peer;
    }
}
