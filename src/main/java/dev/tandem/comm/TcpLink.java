package dev.tandem.comm;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * A link over one non-blocking TCP connection (NIO). Payloads go straight from and to the
 * callers' segments (direct buffers over the same memory); only reductions go through a staging
 * buffer, from which whole 8-byte groups are handed to the reduction as they arrive.
 */
final class TcpLink implements Link {
    private static final int STAGING = 1 << 18;
    private static final long WINDOW = 1L << 30; // ByteBuffers are int-indexed: move huge payloads in windows

    private final int peer;
    private final SocketChannel channel;
    private final OffHeap stagingMemory = OffHeap.allocate(STAGING, MemoryCategory.COMMUNICATION);
    private final MemorySegment staging = stagingMemory.segment();
    private final ByteBuffer stagingBuf = staging.asByteBuffer();

    TcpLink(int peer, SocketChannel channel) throws IOException {
        this.peer = peer;
        this.channel = channel;
        channel.configureBlocking(false);
    }

    @Override
    public int peer() {
        return peer;
    }

    @Override
    public String kind() {
        return "tcp";
    }

    @Override
    public Transfer send(MessageHeader header, MemorySegment payload, boolean mayReadInPlace) { // TCP always copies
        return new Send(header, payload);
    }

    @Override
    public Transfer recv(MessageHeader expected, RecvSink sink) {
        return new Recv(expected, sink);
    }

    @Override
    public synchronized void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // already broken: nothing to release
        }
        stagingMemory.close();
    }

    private LinkClosedException lost(IOException e) {
        return new LinkClosedException(peer, "connection to rank " + peer + " lost: " + e.getMessage());
    }

    private final class Send implements Transfer {
        private final ByteBuffer header = ByteBuffer.allocate(MessageHeader.SIZE);
        private final MemorySegment payload;
        private long sent;
        private ByteBuffer window;

        Send(MessageHeader h, MemorySegment payload) {
            h.write(MemorySegment.ofBuffer(header));
            this.payload = payload;
        }

        @Override
        public boolean progress() {
            try {
                boolean moved = false;
                if (header.hasRemaining()) {
                    if (channel.write(header) > 0) moved = true;
                    if (header.hasRemaining()) return moved;
                }
                while (sent < payload.byteSize()) {
                    if (window == null || !window.hasRemaining()) {
                        window = payload.asSlice(sent, Math.min(WINDOW, payload.byteSize() - sent)).asByteBuffer();
                    }
                    int n = channel.write(window);
                    if (n <= 0) break;
                    sent += n;
                    moved = true;
                }
                return moved;
            } catch (IOException e) {
                throw lost(e);
            }
        }

        @Override
        public boolean done() {
            return !header.hasRemaining() && sent == payload.byteSize();
        }

        @Override
        public int peer() {
            return peer;
        }

        @Override
        public String describe() {
            return "send to rank " + peer + ": " + sent + " of " + payload.byteSize() + " bytes written (tcp)";
        }
    }

    private final class Recv implements Transfer {
        private final ByteBuffer header = ByteBuffer.allocate(MessageHeader.SIZE);
        private final MessageHeader expected;
        private final RecvSink sink;
        private final long total;
        private long received; // bytes handed to the sink (or read straight into the destination)
        private ByteBuffer window;
        private boolean headerSeen;

        Recv(MessageHeader expected, RecvSink sink) {
            this.expected = expected;
            this.sink = sink;
            this.total = expected.bytes();
        }

        @Override
        public boolean progress() {
            try {
                boolean moved = false;
                if (!headerSeen) {
                    int n = channel.read(header);
                    if (n < 0) throw closed();
                    if (n > 0) moved = true;
                    if (header.hasRemaining()) return moved;
                    expected.check(MessageHeader.read(MemorySegment.ofBuffer(header.flip())));
                    headerSeen = true;
                    stagingBuf.clear();
                }
                if (sink instanceof RecvSink.Copy copy) {
                    while (received < total) {
                        if (window == null || !window.hasRemaining()) {
                            window = copy.dst().asSlice(received, Math.min(WINDOW, total - received)).asByteBuffer();
                        }
                        int n = channel.read(window);
                        if (n < 0) throw closed();
                        if (n == 0) break;
                        received += n;
                        moved = true;
                    }
                } else {
                    while (received < total) {
                        long want = Math.min(total - received, STAGING) - stagingBuf.position(); // total-received counts the partial bytes too
                        if (want > 0) {
                            stagingBuf.limit((int) (stagingBuf.position() + want));
                            int n = channel.read(stagingBuf);
                            if (n < 0) throw closed();
                            if (n == 0) break;
                            moved = true;
                        }
                        int filled = stagingBuf.position();
                        long deliver = received + filled == total ? filled : filled & ~7L;
                        if (deliver == 0) continue;
                        sink.accept(staging.asSlice(0, deliver), received);
                        received += deliver;
                        int rest = (int) (filled - deliver); // keep a partial element for next time
                        MemorySegment.copy(staging, deliver, staging, 0, rest);
                        stagingBuf.clear().position(rest);
                    }
                }
                return moved;
            } catch (IOException e) {
                throw lost(e);
            }
        }

        private LinkClosedException closed() {
            return new LinkClosedException(peer, "connection closed by rank " + peer);
        }

        @Override
        public boolean done() {
            return headerSeen && received == total;
        }

        @Override
        public int peer() {
            return peer;
        }

        @Override
        public String describe() {
            return "receive from rank " + peer + ": " + received + " of " + total + " bytes"
                    + (headerSeen ? "" : ", nothing yet") + " (tcp)";
        }
    }
}
