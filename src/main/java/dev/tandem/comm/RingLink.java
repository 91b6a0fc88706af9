package dev.tandem.comm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A link made of two {@link ByteRing}s, one per direction: used between ranks-as-threads (rings
 * in process memory) and between processes on one host (rings in memory-mapped files).
 *
 * <p>Framing keeps the ring 8-byte aligned: a 32-byte header, the payload, then padding up to
 * a multiple of 8. Both sides move at most {@link #PIECE} bytes per {@link Transfer#progress()}
 * call: the writer publishes each piece as soon as it is written and the reader frees each piece
 * as soon as it is consumed, so reading, writing and the rank's other transfer (a ring step sends
 * and receives at once) interleave finely and the bytes in flight stay in cache.
 *
 * <p>Payloads of at least {@code directMin} bytes that the sender lets the peer read in place take the
 * {@link DirectPath} where the link has one: an 8-byte word in front of every header is 0 for a
 * payload that follows in the ring, and otherwise the word the receiver reads it in place with.
 * A message whose header and payload go out in one call (it fits in the ring's free space and in
 * one piece) is then sealed: its first word becomes the seal of its position ({@link ByteRing#seal}),
 * so the receiver, which looks for the seal first, finds it whole without reading the head.
 */
final class RingLink implements Link {
    private static final long PIECE = 64 * 1024;
    /** A direct read moves this much per progress() call, so a large message cannot starve deadline checks. */
    private static final long DIRECT_PIECE = 4L << 20;
    private static final long PREFIX = 8 + MessageHeader.SIZE;

    private final int peer;
    private final String kind;
    private final ByteRing out;
    private final ByteRing in;
    private final Runnable release;
    private final DirectPath outDirect; // how the peer reads our payloads in place, or null
    private final DirectPath inDirect; // how we read the peer's payloads in place, or null
    private final long directMin;
    private final MemorySegment prefixScratch = Arena.ofAuto().allocate(PREFIX, 8);
    private MemorySegment directScratch; // payloads read in place into heap memory pass through it
    private long directSent; // payloads sent by the direct path so far, compared with out.directReads()
    private volatile long readsInPlace; // written by the rank's operation thread only
    private boolean closed;

    /**
     * @param outDirect null unless the peer has shown it can read this rank's memory
     * @param inDirect  null unless this rank can read the peer's
     */
    RingLink(int peer, String kind, ByteRing out, ByteRing in, Runnable release, DirectPath outDirect, DirectPath inDirect, long directMin) {
        this.peer = peer;
        this.kind = kind;
        this.out = out;
        this.in = in;
        this.release = release;
        this.outDirect = outDirect;
        this.inDirect = inDirect;
        this.directMin = directMin;
    }

    @Override
    public long readsInPlace() {
        return readsInPlace;
    }

    @Override
    public int peer() {
        return peer;
    }

    @Override
    public String kind() {
        return kind;
    }

    @Override
    public Transfer send(MessageHeader header, MemorySegment payload, boolean mayReadInPlace) {
        return new Send(header, payload, mayReadInPlace && outDirect != null && payload.byteSize() >= directMin);
    }

    @Override
    public Transfer recv(MessageHeader expected, RecvSink sink) {
        return new Recv(expected, sink);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        out.closeWriter();
        in.closeReader();
        release.run();
    }

    private static long padded(long bytes) {
        return (bytes + 7) & ~7L;
    }

    private final class Send implements Transfer {
        private final MessageHeader header;
        private final MemorySegment payload;
        private final long total;
        private long sent;
        private boolean headerSent;
        private long directWord; // nonzero: the peer reads the payload in place
        private long directTicket; // the peer's count of direct reads that means it has read this one
        private final boolean tryDirect;
        private boolean done;

        Send(MessageHeader header, MemorySegment payload, boolean tryDirect) {
            this.header = header;
            this.payload = payload;
            this.total = payload.byteSize();
            this.tryDirect = tryDirect;
        }

        /** Writes at most one piece, so that the receive running beside it is served in between. */
        @Override
        public boolean progress() {
            if (done) return false;
            if (directWord != 0) { // the header is out; wait until the peer has read the payload
                if (out.directReads() >= directTicket) {
                    done = true;
                    return true;
                }
                if (out.readerClosed()) throw new LinkClosedException(peer, "rank " + peer + " closed its end of the channel");
                return false;
            }
            if (out.readerClosed()) throw new LinkClosedException(peer, "rank " + peer + " closed its end of the channel");
            long wanted = (headerSent ? 0 : PREFIX) + (tryDirect && !headerSent ? 0 : Math.min(PIECE, padded(total - sent)));
            long free = out.writable(wanted); // always a multiple of 8: head and tail only move by multiples of 8
            boolean moved = false;
            long start = -1; // where this call wrote the header, if it did
            if (!headerSent) {
                if (free < PREFIX) return false;
                if (tryDirect) directWord = outDirect.expose(payload);
                start = out.head();
                prefixScratch.set(ValueLayout.JAVA_LONG, 0, directWord);
                header.write(prefixScratch, 8);
                out.put(prefixScratch, 0, PREFIX);
                free -= PREFIX;
                headerSent = true;
                moved = true;
                if (directWord != 0) {
                    directTicket = ++directSent;
                    out.publish();
                    return true;
                }
            }
            long rest = total - sent;
            long n = rest <= free && rest <= PIECE
                    ? rest // the last piece; its padding fits because free is a multiple of 8
                    : Math.min(Math.min(free, PIECE), rest) & ~7L;
            if (n > 0) {
                out.put(payload, sent, n);
                sent += n;
                moved = true;
            }
            if (sent == total) {
                out.skip(padded(total) - total);
                if (start >= 0) out.seal(start); // header and payload went out in this one call: the message is whole
                done = true;
            }
            if (moved) out.publish();
            return moved;
        }

        @Override
        public boolean done() {
            return done;
        }

        @Override
        public int peer() {
            return peer;
        }

        @Override
        public String describe() {
            if (directWord != 0) return "send to rank " + peer + ": " + total + " bytes, waiting for it to read them in place (" + kind + ")";
            return "send to rank " + peer + ": " + sent + " of " + total + " bytes written (" + kind + ")";
        }
    }

    private final class Recv implements Transfer {
        private final MessageHeader expected;
        private final RecvSink sink;
        private final long total;
        private final long paddedTotal;
        private long received; // including padding
        private boolean headerSeen;
        private boolean sealed; // the writer sealed the message: all of it is in the ring
        private long directWord; // nonzero: read the payload in place
        private boolean done;

        Recv(MessageHeader expected, RecvSink sink) {
            this.expected = expected;
            this.sink = sink;
            this.total = expected.bytes();
            this.paddedTotal = padded(total);
        }

        @Override
        public boolean progress() {
            if (done) return false;
            boolean writerGone = in.writerClosed(); // read before readable(): data written before closing still counts
            // A sealed message is all there: the head (another line the writer has just changed) need not be read.
            if (!headerSeen) sealed = in.sealedAtTail();
            long avail = sealed ? (headerSeen ? 0 : PREFIX) + paddedTotal - received : in.readable();
            boolean moved = false;
            if (!headerSeen) {
                if (avail < PREFIX) {
                    if (writerGone && avail <= 0) throw new LinkClosedException(peer, "rank " + peer + " closed its end of the channel");
                    return false;
                }
                in.copyOut(prefixScratch, PREFIX);
                long word = prefixScratch.get(ValueLayout.JAVA_LONG, 0);
                if (in.isSealAtTail(word)) word = 0; // sealed (maybe after the check above, before the head moved): payload follows
                expected.checkAt(prefixScratch, 8);
                in.consume(PREFIX);
                avail -= PREFIX;
                headerSeen = true;
                moved = true;
                if (word != 0) {
                    if (inDirect == null) throw new IllegalStateException("rank " + peer + " sent a payload to read in place, but this rank cannot read its memory");
                    directWord = word;
                }
            }
            if (directWord != 0) return readDirect() || moved;
            if (received < paddedTotal && avail > 0) {
                // One piece at a time, freed at once: the writer refills while we process the next.
                MemorySegment piece = in.peek(Math.min(Math.min(avail, PIECE), paddedTotal - received));
                long n = piece.byteSize();
                long real = Math.min(n, total - received);
                if (real > 0) sink.accept(real == n ? piece : piece.asSlice(0, real), received);
                received += n;
                in.consume(n);
                moved = true;
            }
            if (received == paddedTotal) done = true;
            else if (!moved && writerGone) throw new LinkClosedException(peer, "rank " + peer + " closed its end of the channel");
            return moved;
        }

        /**
         * One piece of a payload read in place: straight into the destination, or, where the sink
         * cannot take it so (heap memory, which process_vm_readv cannot write), through native scratch.
         */
        private boolean readDirect() {
            long n = Math.min(DIRECT_PIECE, total - received);
            MemorySegment target = sink.directTarget();
            if (target != null) {
                inDirect.read(directWord, received, target.asSlice(received, n));
            } else {
                n = Math.min(n, PIECE);
                if (directScratch == null) directScratch = Arena.ofAuto().allocate(PIECE, 64);
                MemorySegment piece = directScratch.asSlice(0, n);
                inDirect.read(directWord, received, piece);
                sink.accept(piece, received);
            }
            received += n;
            if (received == total) {
                in.countDirectRead();
                readsInPlace++;
                done = true;
            }
            return true;
        }

        @Override
        public boolean done() {
            return done;
        }

        @Override
        public int peer() {
            return peer;
        }

        @Override
        public String describe() {
            return "receive from rank " + peer + ": " + Math.min(received, total) + " of " + total + " bytes"
                    + (headerSeen ? "" : ", nothing yet") + " (" + kind + ")";
        }
    }
}
