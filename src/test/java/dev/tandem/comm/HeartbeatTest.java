package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Dead-peer detection: a silent peer (hung, not exited), a closed connection, a goodbye. */
class HeartbeatTest {
    private static String awaitFailure(Heartbeat hb, int peer) throws InterruptedException {
        for (int i = 0; i < 400 && hb.failure(peer) == null; i++) Thread.sleep(25); // polls; no timing is asserted
        return hb.failure(peer);
    }

    @Test
    void silentClosedAndDepartingPeersAreReported() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            SocketChannel[] mine = new SocketChannel[3];
            SocketChannel[] theirs = new SocketChannel[3];
            for (int i = 0; i < 3; i++) {
                mine[i] = SocketChannel.open(server.getLocalAddress());
                theirs[i] = server.accept();
            }
            try (Heartbeat hb = new Heartbeat(0, Map.of(1, mine[0], 2, mine[1], 3, mine[2]),
                    Duration.ofMillis(50), Duration.ofMillis(500))) {
                theirs[1].close();
                theirs[2].write(ByteBuffer.wrap(new byte[] {'B'}));
                // peer 2: connection closed; peer 3: said goodbye; peer 1: stays silent (hung, not exited)
                assertThat(awaitFailure(hb, 2)).endsWith("the process exited or was killed"); // EOF or reset
                assertThat(awaitFailure(hb, 3)).isEqualTo("it closed its process group");
                assertThat(awaitFailure(hb, 1)).isEqualTo("no heartbeat for 0.5 s");
            } finally {
                for (SocketChannel c : theirs) c.close();
            }
        }
    }
}
