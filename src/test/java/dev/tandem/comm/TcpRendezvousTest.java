package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * The TCP rendezvous and both process transports (TCP links, shared-memory rings), with ranks
 * as threads of this JVM: the same sockets and files as separate processes, minus JVM start-up.
 */
class TcpRendezvousTest {
    private static final byte[] SECRET = "test-secret".getBytes(StandardCharsets.UTF_8);

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static BootstrapSpec spec(int port, int rank, int n, byte[] secret, String transport, Duration timeout) {
        CommOptions o = CommOptions.defaults().withTimeout(Duration.ofSeconds(30)).withTransport(transport);
        return new BootstrapSpec("127.0.0.1", port, rank, n, secret, null, timeout, o);
    }

    /** Connects n ranks in threads; returns each rank's group or failure. */
    static List<CompletableFuture<ProcessGroup>> connectAll(int n, IntFunction<BootstrapSpec> specs) {
        List<CompletableFuture<ProcessGroup>> fs = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            BootstrapSpec s = specs.apply(r);
            CompletableFuture<ProcessGroup> f = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try {
                    f.complete(TcpRendezvous.connect(s));
                } catch (Throwable e) {
                    f.completeExceptionally(e);
                }
            });
            fs.add(f);
        }
        return fs;
    }

    private static void selfTest(int n, String transport) throws Exception {
        int port = freePort();
        List<CompletableFuture<ProcessGroup>> fs = connectAll(n, r -> spec(port, r, n, SECRET, transport, Duration.ofSeconds(30)));
        List<CompletableFuture<Integer>> runs = new ArrayList<>();
        for (CompletableFuture<ProcessGroup> f : fs) {
            runs.add(f.thenApplyAsync(g -> {
                try (g) {
                    for (int p = 0; p < n; p++) {
                        assertThat(g.transport(p)).isEqualTo(p == g.rank() ? "self" : transport.equals("tcp") ? "tcp" : "shm");
                    }
                    return SelfTest.run(g, 5);
                }
            }, r -> Thread.ofPlatform().start(r)));
        }
        for (CompletableFuture<Integer> r : runs) assertThat(r.get()).isGreaterThan(100);
    }

    @Test
    void everyCollectiveOverTcpLinks() throws Exception {
        selfTest(3, "tcp");
    }

    @Test
    void everyCollectiveOverSharedMemoryRings() throws Exception {
        selfTest(3, "auto");
    }

    @Test
    void wrongSecretIsRefused() throws Exception {
        int port = freePort();
        List<CompletableFuture<ProcessGroup>> fs = connectAll(2, r -> spec(port, r, 2,
                r == 1 ? "other".getBytes(StandardCharsets.UTF_8) : SECRET, "auto", Duration.ofSeconds(2)));
        assertThatThrownBy(() -> fs.get(1).join()).hasCauseInstanceOf(TandemException.class)
                .cause().hasMessageContaining("rank 1: rank 0 at 127.0.0.1:" + port)
                .hasMessageContaining("refused our credentials");
        assertThatThrownBy(() -> fs.get(0).join()).cause()
                .hasMessageContaining("rendezvous timed out after 2.0 s: rank(s) [1] never registered")
                .hasMessageContaining("1 connection(s) refused: wrong secret");
    }

    @Test
    void ranksWithOtherCommunicationSettingsAreRefused() throws Exception {
        int port = freePort();
        List<CompletableFuture<ProcessGroup>> fs = connectAll(2, r -> {
            BootstrapSpec s = spec(port, r, 2, SECRET, "auto", Duration.ofSeconds(30));
            return r == 0 ? s : new BootstrapSpec(s.masterAddr(), s.masterPort(), r, 2, SECRET, null, s.rendezvousTimeout(),
                    s.options().withRingBytes(65536).withDirectMinBytes(CommOptions.ADAPTIVE).withTimeout(Duration.ofSeconds(5)));
        });
        String expected = "rank 1 runs with other communication settings than rank 0: TANDEM_RING_BYTES=65536 where rank 0 has auto, "
                + "TANDEM_DIRECT_MIN_BYTES=adaptive where rank 0 has auto. Every rank of a job needs the same ones";
        assertThatThrownBy(() -> fs.get(0).join()).cause().isInstanceOf(TandemException.class).hasMessageContaining(expected);
        assertThatThrownBy(() -> fs.get(1).join()).cause().isInstanceOf(TandemException.class)
                .hasMessageContaining("rank 0 rejected this rank: " + expected);
    }

    @Test
    void portInUseIsAClearError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> TcpRendezvous.connect(spec(port, 0, 2, SECRET, "auto", Duration.ofSeconds(3))))
                    .isInstanceOf(TandemException.class)
                    .hasMessageContaining("rank 0 cannot listen on 127.0.0.1:" + port)
                    .hasMessageContaining("set MASTER_PORT to a free one");
        }
    }

    @Test
    void missingRankTimesOutNamingIt() throws Exception {
        int port = freePort();
        List<CompletableFuture<ProcessGroup>> fs = connectAll(2, r -> spec(port, r, 3, SECRET, "auto", Duration.ofMillis(1500)));
        assertThatThrownBy(() -> fs.get(0).join()).cause().hasMessageContaining("rank(s) [2] never registered");
        assertThatThrownBy(() -> fs.get(1).join()).cause().hasMessageContaining("timed out");
    }
}
