package dev.tandem.comm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A link made of two {@link ByteRing}s, one per direction: used between ranks-as-threads (rings
 * in process memory) and between processes on one host (rings in memory-mapped files).
 *
 * <p>Framing keeps the ring 8-byte aligned: a 32-byte header, the payload, then padding up to
 * a multiple of 8. Both sides move at most {@link #PIECE} bytes per {@link Transfer#progress()}
 * call: the writer publishes each piece as soon as it is written and the reader frees each piece
 * as soon as it is consumed, so reading, writing and the rank's other transfer (a ring step sends
 * and receives at once) interleave finely and the bytes in flight stay in cache.
 */
final class RingLink implements Link {
    private static final long PIECE = 64 * 1024;

    private final int peer;
    private final String kind;
    private final ByteRing out;
    private final ByteRing in;
    private final Runnable release;
    private final MemorySegment headerScratch = Arena.ofAuto().allocate(MessageHeader.SIZE, 8);
    private boolean closed;

    RingLink(int peer, String kind, ByteRing out, ByteRing in, Runnable release) {
        this.peer = peer;
        this.kind = kind;
        this.out = out;
        this.in = in;
        this.release = release;
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
    public Transfer send(MessageHeader header, MemorySegment payload) {
        return new Send(header, payload);
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
        private boolean done;

        Send(MessageHeader header, MemorySegment payload) {
            this.header = header;
            this.payload = payload;
            this.total = payload.byteSize();
        }

        /** Writes at most one piece, so that the receive running beside it is served in between. */
        @Override
        public boolean progress() {
            if (done) return false;
            if (out.readerClosed()) throw new LinkClosedException(peer, "rank " + peer + " closed its end of the channel");
            long free = out.writable(); // always a multiple of 8: head and tail only move by multiples of 8
            boolean moved = false;
            if (!headerSent) {
                if (free < MessageHeader.SIZE) return false;
                header.write(headerScratch);
                out.put(headerScratch, 0, MessageHeader.SIZE);
                free -= MessageHeader.SIZE;
                headerSent = true;
                moved = true;
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
            long avail = in.readable();
            boolean moved = false;
            if (!headerSeen) {
                if (avail < MessageHeader.SIZE) {
                    if (writerGone && avail == 0) throw new LinkClosedException(peer, "rank " + peer + " closed its end of the channel");
                    return false;
                }
                in.copyOut(headerScratch, MessageHeader.SIZE);
                expected.check(MessageHeader.read(headerScratch));
                in.consume(MessageHeader.SIZE);
                avail -= MessageHeader.SIZE;
                headerSeen = true;
                moved = true;
            }
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
