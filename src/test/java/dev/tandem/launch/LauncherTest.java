package dev.tandem.launch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Ranks as real processes, started by the {@link Launcher} running {@code tandem comm-selftest}:
 * every collective over shared memory and over TCP, a rank killed in the middle of a collective,
 * a mismatched collective, a rank that crashes while the others compute.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class LauncherTest {
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8);
    private final Launcher launcher = new Launcher(out, out, Duration.ofSeconds(2));

    private String output() {
        return captured.toString(StandardCharsets.UTF_8);
    }

    private void selftest(int n, String transport) {
        selftest(n, transport, "auto");
    }

    private void selftest(int n, String transport, String directMinBytes) {
        // small thresholds and rings: the ring algorithms, chunking and ring wrap-around all run on small data
        launcher.launch(n, List.of("comm-selftest"), Map.of("TANDEM_TRANSPORT", transport, "TANDEM_COMM_TIMEOUT", "60",
                "TANDEM_TREE_THRESHOLD_BYTES", "1024", "TANDEM_CHUNK_BYTES", "16384", "TANDEM_RING_BYTES", "8192",
                "TANDEM_DIRECT_MIN_BYTES", directMinBytes));
        for (int r = 0; r < n; r++) {
            assertThat(output()).containsPattern("\\[rank " + r + "] rank " + r + "/" + n + ": \\d+ checks passed");
        }
    }

    @Test
    void twoProcessesOverSharedMemory() throws Exception {
        selftest(2, "auto");
        assertThat(output()).contains("(links: self,shm;");
        // the group chose between the rings and reading in place: its window read the large gathers in place
        for (int r = 0; r < 2; r++) {
            if (crossMemoryAttachAllowed()) assertThat(output()).containsPattern("\\[rank " + r + "] .*read in place: [1-9]\\d*; chosen in place: [01] of 1;");
            else assertThat(output()).contains("cannot read rank");
        }
        // bound to one core each, each rank sees one CPU, yet two ranks on two CPUs do not oversubscribe
        if (Runtime.getRuntime().availableProcessors() >= 2) assertThat(output()).contains("; oversubscribed: no)");
    }

    @Test
    void threeProcessesOverTcp() {
        selftest(3, "tcp");
        assertThat(output()).contains("(links: tcp,self,tcp;");
        for (int r = 0; r < 3; r++) assertThat(output()).containsPattern("\\[rank " + r + "] .*board rounds: 0;"); // peers over TCP
    }

    @Test
    void fourProcessesOverSharedMemory() {
        selftest(4, "auto");
        if (Runtime.getRuntime().availableProcessors() < 4) assertThat(output()).contains("; oversubscribed: yes)");
        // all-gathers above the 1 KiB threshold went through the shared board
        for (int r = 0; r < 4; r++) assertThat(output()).containsPattern("\\[rank " + r + "] .*board rounds: [1-9]\\d*;");
    }

    /** Yama ptrace_scope 2 and 3 forbid reading a sibling's memory whatever it allows (1 is handled by PR_SET_PTRACER). */
    private static boolean crossMemoryAttachAllowed() throws java.io.IOException {
        java.nio.file.Path yama = java.nio.file.Path.of("/proc/sys/kernel/yama/ptrace_scope");
        return !java.nio.file.Files.exists(yama) || Integer.parseInt(java.nio.file.Files.readString(yama).trim()) <= 1;
    }

    /** Payloads from 512 bytes on are read straight out of the sender process (process_vm_readv), mixed with ring messages. */
    @Test
    void fourProcessesReadingLargePayloadsInPlace() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(crossMemoryAttachAllowed(), "ptrace_scope forbids cross-memory attach");
        selftest(4, "auto", "512");
        for (int r = 0; r < 4; r++) assertThat(output()).containsPattern("\\[rank " + r + "] .*read in place: [1-9]\\d*;");
        assertThat(output()).doesNotContain("cannot read rank");
    }

    @Test
    void rankKilledMidCollectiveIsNamedByTheOthers() {
        assertThatThrownBy(() -> launcher.launch(3, List.of("comm-selftest", "--crash-rank", "1", "--crash-after-ms", "1500"),
                Map.of("TANDEM_COMM_TIMEOUT", "60")))
                .isInstanceOf(TandemException.class)
                .hasMessage("rank 1 exited with code 41; stopped the other ranks");
        String log = output();
        assertThat(log).contains("[rank 1] rank 1: simulating a crash now");
        // each survivor stops by itself, long before the 60 s timeout, naming the operation and a dead peer:
        // the dead rank itself, or a survivor that already stopped because of it
        assertThat(log).containsPattern("\\[rank 0] tandem: all_reduce #\\d+ in group 'world' on rank 0 failed: rank [12] is gone");
        assertThat(log).containsPattern("\\[rank 2] tandem: all_reduce #\\d+ in group 'world' on rank 2 failed: rank [01] is gone");
        assertThat(log).containsPattern("failed: rank 1 is gone \\(its connection .*the process exited or was killed\\)");
    }

    @Test
    void launcherStopsRanksThatDoNotNoticeACrash() {
        // the survivors are computing, not communicating: the launcher must stop them (SIGTERM after the grace)
        assertThatThrownBy(() -> launcher.launch(3, List.of("comm-selftest", "--crash-rank", "2", "--crash-after-ms", "500",
                "--others-compute"), Map.of()))
                .isInstanceOf(TandemException.class)
                .hasMessage("rank 2 exited with code 41; stopped the other ranks");
        assertThat(output()).contains("[rank 2] rank 2: simulating a crash now").doesNotContainPattern("\\[rank 0] tandem: .*failed");
    }

    @Test
    void mismatchedCollectiveOrderAcrossProcessesIsDetected() {
        assertThatThrownBy(() -> launcher.launch(2, List.of("comm-selftest", "--mismatch-rank", "1"),
                Map.of("TANDEM_COMM_TIMEOUT", "60")))
                .isInstanceOf(TandemException.class).hasMessageContaining("exited with code 2");
        assertThat(output()).contains("collective mismatch");
    }

    @Test
    void wrongSecretInTheEnvironmentIsReported() {
        // one rank started by hand with another secret: rank 0 refuses it; both fail clearly
        Map<String, String> base = Map.of("TANDEM_RENDEZVOUS_TIMEOUT", "3");
        assertThatThrownBy(() -> Rendezvous.spec(Map.of("WORLD_SIZE", "2", "RANK", "1")))
                .hasMessageContaining("TANDEM_JOB_SECRET is not set");
        assertThatThrownBy(() -> Rendezvous.spec(Map.of("WORLD_SIZE", "2", "RANK", "2", "TANDEM_JOB_SECRET", "x")))
                .hasMessageContaining("RANK=2 is outside WORLD_SIZE=2");
        assertThatThrownBy(() -> Rendezvous.spec(Map.of("MASTER_PORT", "http")))
                .hasMessageContaining("MASTER_PORT=http is not an integer");
        assertThat(Rendezvous.spec(base).worldSize()).isEqualTo(1);
    }

    @Test
    void sigtermToTheLauncherStopsItsRanks() throws Exception {
        // a launcher process whose two ranks would sleep for 10 minutes ("--crash-rank 5" names no rank)
        Process launcherProcess = new ProcessBuilder(JavaCommand.forCli(List.of("comm-selftest", "--nproc", "2",
                "--crash-rank", "5", "--others-compute"))).redirectErrorStream(true).start();
        try (var lines = launcherProcess.inputReader()) {
            List<ProcessHandle> ranks = List.of();
            for (int i = 0; i < 600 && ranks.size() < 2; i++) { // poll until both rank JVMs exist
                Thread.sleep(100);
                ranks = launcherProcess.descendants().filter(p -> p.info().command().orElse("").endsWith("java")).toList();
            }
            assertThat(ranks).hasSize(2);
            launcherProcess.destroy(); // SIGTERM
            assertThat(launcherProcess.waitFor(60, TimeUnit.SECONDS)).isTrue();
            for (ProcessHandle rank : ranks) {
                rank.onExit().get(30, TimeUnit.SECONDS); // the shutdown hook stopped it
                assertThat(rank.isAlive()).isFalse();
            }
        } finally {
            launcherProcess.descendants().forEach(ProcessHandle::destroyForcibly);
            launcherProcess.destroyForcibly();
        }
    }

    @Test
    void ranksEndWhenTheirLauncherIsKilledOutright() throws Exception {
        // SIGKILL runs no shutdown hook: the ranks themselves notice that the launcher is gone
        Process launcherProcess = new ProcessBuilder(JavaCommand.forCli(List.of("comm-selftest", "--nproc", "2",
                "--crash-rank", "5", "--others-compute"))).redirectErrorStream(true).start();
        try {
            List<ProcessHandle> ranks = List.of();
            for (int i = 0; i < 600 && ranks.size() < 2; i++) {
                Thread.sleep(100);
                ranks = launcherProcess.descendants().filter(p -> p.info().command().orElse("").endsWith("java")).toList();
            }
            assertThat(ranks).hasSize(2);
            launcherProcess.destroyForcibly(); // SIGKILL
            assertThat(launcherProcess.waitFor(60, TimeUnit.SECONDS)).isTrue();
            for (ProcessHandle rank : ranks) {
                rank.onExit().get(60, TimeUnit.SECONDS); // instead of computing for ten minutes
                assertThat(rank.isAlive()).isFalse();
            }
        } finally {
            launcherProcess.descendants().forEach(ProcessHandle::destroyForcibly);
            launcherProcess.destroyForcibly();
        }
    }

    @Test
    void exitCodesAreDescribed() {
        assertThat(Launcher.describeExit(3)).isEqualTo("exited with code 3");
        assertThat(Launcher.describeExit(137)).isEqualTo("was killed by signal 9 (SIGKILL, exit code 137)");
    }
}
