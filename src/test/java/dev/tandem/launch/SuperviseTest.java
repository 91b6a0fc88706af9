package dev.tandem.launch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.PeerFailureException;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;

/** Which rank the launcher names when several exit at once, in whatever order they are reaped. */
class SuperviseTest {
    private final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    private final Launcher launcher = new Launcher(quiet, quiet, Duration.ofMillis(50));

    /** A rank that has already exited with {@code code}. */
    private static Process exited(int code) {
        return new Process() {
            @Override public OutputStream getOutputStream() { return OutputStream.nullOutputStream(); }
            @Override public InputStream getInputStream() { return InputStream.nullInputStream(); }
            @Override public InputStream getErrorStream() { return InputStream.nullInputStream(); }
            @Override public int waitFor() { return code; }
            @Override public int exitValue() { return code; }
            @Override public boolean isAlive() { return false; }
            @Override public void destroy() {}
        };
    }

    private int supervise(int[] codes, int... reapOrder) throws InterruptedException {
        Process[] procs = new Process[codes.length];
        for (int r = 0; r < codes.length; r++) procs[r] = exited(codes[r]);
        BlockingQueue<Integer> exits = new LinkedBlockingQueue<>();
        for (int r : reapOrder) exits.add(r);
        return launcher.supervise(procs, exits, new boolean[codes.length]);
    }

    @Test
    void theRankThatFailedIsNamedEvenWhenAPeerThatNoticedItIsReapedFirst() throws InterruptedException {
        int peerGone = PeerFailureException.EXIT_CODE;
        int[] codes = {peerGone, 41, peerGone};
        assertThat(supervise(codes, 0, 1, 2)).isEqualTo(1);
        assertThat(supervise(codes, 2, 0, 1)).isEqualTo(1);
        assertThat(supervise(codes, 1, 0, 2)).isEqualTo(1);
    }

    /** A rank that never exits by itself (stopped or hung) until it is killed; SIGTERM does not reach it. */
    private static Process hung(int rank, BlockingQueue<Integer> exits) {
        return new Process() {
            private volatile boolean alive = true;
            @Override public OutputStream getOutputStream() { return OutputStream.nullOutputStream(); }
            @Override public InputStream getInputStream() { return InputStream.nullInputStream(); }
            @Override public InputStream getErrorStream() { return InputStream.nullInputStream(); }
            @Override public int waitFor() { return 137; }
            @Override public int exitValue() { return 137; }
            @Override public boolean isAlive() { return alive; }
            @Override public void destroy() {}
            @Override public Process destroyForcibly() {
                alive = false;
                exits.add(rank);
                return this;
            }
        };
    }

    @Test
    void aRankThatHungIsNamedAsHungNotAsKilled() throws InterruptedException {
        BlockingQueue<Integer> exits = new LinkedBlockingQueue<>();
        Process[] procs = {exited(PeerFailureException.EXIT_CODE), hung(1, exits)};
        exits.add(0);
        boolean[] stopped = new boolean[2];
        int failed = launcher.supervise(procs, exits, stopped);
        assertThat(failed).isEqualTo(1);
        assertThat(stopped).containsExactly(false, true);
        assertThat(Launcher.blame(failed, procs, stopped)).startsWith("rank 1 stopped responding").doesNotContain("signal");
        boolean[] none = new boolean[2];
        assertThat(Launcher.blame(0, new Process[] {exited(41), exited(0)}, none)).isEqualTo("rank 0 exited with code 41; stopped the other ranks");
    }

    @Test
    void otherwiseTheFirstFailureReapedIsNamed() throws InterruptedException {
        assertThat(supervise(new int[] {0, 0, 0}, 2, 1, 0)).isEqualTo(-1);
        assertThat(supervise(new int[] {7, 41, 0}, 1, 0, 2)).isEqualTo(1); // two real failures: the first one seen
        int peerGone = PeerFailureException.EXIT_CODE;
        assertThat(supervise(new int[] {peerGone, peerGone}, 1, 0)).isEqualTo(1); // only peers that noticed: the first
    }
}
