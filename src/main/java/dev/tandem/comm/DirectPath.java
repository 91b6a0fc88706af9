package dev.tandem.comm;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The single-copy path of one direction of a {@link RingLink}: instead of copying a large payload
 * into the ring (and the receiver copying it out again), the sender puts only a word in the ring
 * that lets the receiver copy the payload straight out of the sender's memory into its own. The
 * sender's transfer ends when the receiver has counted the read in the ring, so the payload must
 * not change until then, as for any send in flight. One copy instead of two halves the memory
 * traffic of all-gather and of the all-gather half of all-reduce, which are copy-bound.
 */
interface DirectPath {
    /**
     * Sender: makes {@code payload} readable by the receiver; returns the word the message carries
     * (never 0), or 0 if this payload cannot take the single-copy path (then it goes through the ring).
     */
    long expose(MemorySegment payload);

    /** Receiver: copies bytes {@code [offset, offset + dst.byteSize())} of the exposed payload into {@code dst}. */
    void read(long word, long offset, MemorySegment dst);

    /**
     * Ranks as threads: the sender hands the segment itself over (one message in flight per
     * direction, so one slot). Copying from a segment whose owner has closed it throws instead of
     * reading freed memory, so a failed rank cannot crash the JVM.
     */
    final class InProcess implements DirectPath {
        /** Never started: a segment this thread may touch is shared (not confined to its owner) if it may, too. */
        private static final Thread SOME_OTHER_THREAD = Thread.ofPlatform().unstarted(() -> { });
        private final AtomicReference<MemorySegment> slot = new AtomicReference<>();

        @Override
        public long expose(MemorySegment payload) {
            if (!payload.isAccessibleBy(SOME_OTHER_THREAD)) return 0; // confined to this thread: ring path
            slot.set(payload); // published by the ring's release store of the head that follows
            return 1;
        }

        @Override
        public void read(long word, long offset, MemorySegment dst) {
            try {
                MemorySegment.copy(slot.get(), offset, dst, 0, dst.byteSize());
            } catch (IllegalStateException closed) { // the sender's arena was closed: it gave up on this send
                throw new CommException("the sending rank freed the memory it was sending (" + closed.getMessage() + ")");
            }
        }
    }
}
