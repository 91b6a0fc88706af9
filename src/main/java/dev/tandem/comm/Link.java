package dev.tandem.comm;

import java.lang.foreign.MemorySegment;

/**
 * This rank's channel to one peer, in both directions: a shared-memory ring pair, an in-process
 * ring pair, or a TCP connection. At most one send and one receive are in flight per link;
 * messages arrive in the order they were sent.
 */
interface Link extends AutoCloseable {
    /** World rank of the peer. */
    int peer();

    /** "local", "shm" or "tcp". */
    String kind();

    /** @param mayReadInPlace whether the peer may read this payload in place instead of through the link's buffer */
    Transfer send(MessageHeader header, MemorySegment payload, boolean mayReadInPlace);

    Transfer recv(MessageHeader expected, RecvSink sink);

    /** Messages received by reading the peer's memory in place ({@link DirectPath}) so far. */
    default long readsInPlace() {
        return 0;
    }

    @Override
    void close();
}
