package dev.tandem.comm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Dead-peer detection over one small control connection per peer. A background thread sends a
 * byte every interval and reads the peers' bytes. A peer is reported failed when its connection
 * closes (the OS closes sockets of a killed process at once), when it says goodbye (closed its
 * group) or when nothing arrived for the heartbeat timeout (hung host, network partition).
 * Blocked operations poll {@link #failure} and stop waiting for a failed peer.
 */
final class Heartbeat implements PeerHealth, AutoCloseable {
    private static final byte BEAT = 'H', BYE = 'B';

    private final Map<Integer, SocketChannel> channels;
    private final Map<Integer, String> failures = new ConcurrentHashMap<>();
    private final Map<Integer, Long> lastHeard = new ConcurrentHashMap<>();
    private final Duration interval;
    private final Duration timeout;
    private final Selector selector;
    private final Thread thread;
    private volatile boolean stopping;

    Heartbeat(int rank, Map<Integer, SocketChannel> channels, Duration interval, Duration timeout) throws IOException {
        this.channels = Map.copyOf(channels);
        this.interval = interval;
        this.timeout = timeout;
        this.selector = Selector.open();
        long now = System.nanoTime();
        for (var e : this.channels.entrySet()) {
            e.getValue().configureBlocking(false);
            e.getValue().register(selector, SelectionKey.OP_READ, e.getKey());
            lastHeard.put(e.getKey(), now);
        }
        this.thread = Thread.ofPlatform().daemon().name("tandem-heartbeat-rank" + rank).unstarted(this::loop);
        thread.start();
    }

    @Override
    public String failure(int worldRank) {
        return failures.get(worldRank);
    }

    private void loop() {
        ByteBuffer in = ByteBuffer.allocate(256);
        long next = System.nanoTime();
        try {
            while (!stopping) {
                long now = System.nanoTime();
                if (now - next >= 0) {
                    for (var e : channels.entrySet()) send(e.getKey(), e.getValue(), BEAT);
                    next = now + interval.toNanos();
                }
                selector.select(Math.max(1, (next - now) / 1_000_000));
                for (SelectionKey key : selector.selectedKeys()) {
                    int peer = (Integer) key.attachment();
                    SocketChannel ch = (SocketChannel) key.channel();
                    try {
                        in.clear();
                        int n = ch.read(in);
                        if (n < 0) {
                            fail(peer, "its connection closed: the process exited or was killed");
                            key.cancel();
                        } else if (n > 0) {
                            lastHeard.put(peer, System.nanoTime());
                            for (int i = 0; i < n; i++) {
                                if (in.get(i) == BYE) fail(peer, "it closed its process group");
                            }
                        }
                    } catch (IOException e) {
                        fail(peer, "its connection broke (" + e.getMessage() + "): the process exited or was killed");
                        key.cancel();
                    }
                }
                selector.selectedKeys().clear();
                long t = System.nanoTime();
                for (var e : lastHeard.entrySet()) {
                    if (t - e.getValue() > timeout.toNanos()) {
                        fail(e.getKey(), String.format("no heartbeat for %.1f s", timeout.toNanos() / 1e9));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            if (!stopping) {
                for (int p : channels.keySet()) fail(p, "heartbeat thread failed: " + e);
            }
        }
    }

    private void fail(int peer, String why) {
        failures.putIfAbsent(peer, why);
        lastHeard.remove(peer);
    }

    private void send(int peer, SocketChannel ch, byte b) {
        if (failures.containsKey(peer)) return;
        try {
            ch.write(ByteBuffer.wrap(new byte[] {b})); // non-blocking: a full buffer just skips one beat
        } catch (IOException e) {
            fail(peer, "its connection failed: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        stopping = true;
        selector.wakeup();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (var e : channels.entrySet()) {
            send(e.getKey(), e.getValue(), BYE);
            try {
                e.getValue().close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
