package dev.tandem.comm;

/**
 * One message in flight on a link, moved forward by {@link #progress()} without ever blocking.
 * {@link Op#run} drives several transfers at once (send right while receiving from the left),
 * which is what lets ring algorithms stream through bounded buffers without deadlock.
 */
interface Transfer {
    /** Moves as many bytes as possible without blocking; true if anything moved. */
    boolean progress();

    boolean done();

    /** World rank of the peer. */
    int peer();

    /** World ranks whose failure would leave this transfer waiting forever: its peer, unless it has several. */
    default int[] dependsOn() {
        return new int[] {peer()};
    }

    /** For error messages, e.g. {@code receive from rank 2: 0 of 4096 bytes}. */
    String describe();
}
