package dev.tandem.comm;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * Blocking reads and writes with a deadline on non-blocking channels, for the setup phase
 * (rendezvous, handshakes). Small length-prefixed frames; nothing here is on the data path.
 */
final class Wire {
    static final int MAX_FRAME = 1 << 20;

    private Wire() {}

    static void writeFully(SocketChannel ch, ByteBuffer buf, long deadlineNanos) throws IOException {
        try (Selector sel = Selector.open()) {
            ch.register(sel, SelectionKey.OP_WRITE);
            while (buf.hasRemaining()) {
                if (ch.write(buf) == 0) await(sel, deadlineNanos);
            }
        }
    }

    static void readFully(SocketChannel ch, ByteBuffer buf, long deadlineNanos) throws IOException {
        try (Selector sel = Selector.open()) {
            ch.register(sel, SelectionKey.OP_READ);
            while (buf.hasRemaining()) {
                int n = ch.read(buf);
                if (n < 0) throw new EOFException("connection closed by the other side");
                if (n == 0) await(sel, deadlineNanos);
            }
        }
    }

    private static void await(Selector sel, long deadlineNanos) throws IOException {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) throw new SocketTimeoutException("timed out");
        sel.select(Math.max(1, left / 1_000_000));
        sel.selectedKeys().clear();
    }

    static void sendFrame(SocketChannel ch, byte[] payload, long deadlineNanos) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 + payload.length).putInt(payload.length).put(payload).flip();
        writeFully(ch, b, deadlineNanos);
    }

    static byte[] recvFrame(SocketChannel ch, long deadlineNanos) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(4);
        readFully(ch, len, deadlineNanos);
        int n = len.flip().getInt();
        if (n < 0 || n > MAX_FRAME) throw new IOException("bad frame length " + n + " (not a Tandem peer?)");
        ByteBuffer b = ByteBuffer.allocate(n);
        readFully(ch, b, deadlineNanos);
        return b.array();
    }
}
