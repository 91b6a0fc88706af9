package dev.tandem.launch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.train.TinyRun;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ranks started the way a cluster starts them, not by Tandem's launcher, train exactly as the
 * launcher's ranks do (the same losses, bit for bit: the same plan on the same number of rank
 * processes sums in the same order): as {@code srun} starts them, one process per rank with only
 * Slurm's variables (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NODEID,
 * SLURM_TASKS_PER_NODE, SLURM_JOB_NODELIST, SLURM_JOB_ID) and the job secret; rendezvous address
 * and port derived from them. Ranks on separate (virtual) hosts, across a real network stack, are
 * {@link LinkFaultsAcrossHostsTest}'s.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterLaunchTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STEPS = 6;
    @TempDir static Path runs;
    private List<Double> launcherLosses;

    private Map<String, String> cfg(String name) {
        Map<String, String> cfg = TinyRun.config(runs, name, STEPS);
        cfg.put("parallel.dp", "2");
        cfg.put("run.threads", "1");
        return cfg;
    }

    @BeforeAll
    void trainWithTheLauncher() throws IOException {
        TinyRun.launch(2, cfg("launcher"));
        launcherLosses = losses("launcher");
        assertThat(launcherLosses).hasSize(STEPS);
    }

    @Test
    void ranksStartedAsSrunStartsThemTrainAsTheLaunchersDo() throws Exception {
        int port = freePortFrom(20000, 30000);
        List<Process> ranks = new ArrayList<>();
        for (int procid = 0; procid < 2; procid++) {
            ProcessBuilder pb = rankProcess(cfg("srun"), List.of(), "srun" + procid);
            Map<String, String> env = pb.environment();
            env.put("SLURM_JOB_ID", Integer.toString(port - 20000)); // MASTER_PORT is derived from it
            env.put("SLURM_STEP_ID", "0");
            env.put("SLURM_PROCID", Integer.toString(procid));
            env.put("SLURM_NTASKS", "2");
            env.put("SLURM_LOCALID", Integer.toString(procid));
            env.put("SLURM_NODEID", "0");
            env.put("SLURM_TASKS_PER_NODE", "2");
            env.put("SLURM_JOB_NODELIST", "localhost");
            ranks.add(pb.start());
        }
        awaitAll(ranks, "srun");
        assertThat(losses("srun")).isEqualTo(launcherLosses);
    }

    /** A rank process of {@code tandem train cfg}, behind {@code prefix} (e.g. ip netns exec), its output in {@code <log>.log}. */
    private ProcessBuilder rankProcess(Map<String, String> cfg, List<String> prefix, String log) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(JavaCommand.forCli(TinyRun.args(cfg)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(runs.resolve(log + ".log").toFile());
        pb.environment().put("TANDEM_JOB_SECRET", "cluster-launch-test-secret");
        pb.environment().put("TANDEM_RENDEZVOUS_TIMEOUT", "60");
        return pb;
    }

    private void awaitAll(List<Process> ranks, String log) throws Exception {
        try {
            for (int r = 0; r < ranks.size(); r++) {
                boolean done = ranks.get(r).waitFor(180, TimeUnit.SECONDS);
                assertThat(done && ranks.get(r).exitValue() == 0)
                        .as("rank %d did not finish cleanly:\n%s", r, Files.readString(runs.resolve(log + r + ".log"))).isTrue();
            }
        } finally {
            ranks.forEach(Process::destroyForcibly);
        }
    }

    private List<Double> losses(String name) throws IOException {
        List<Double> out = new ArrayList<>();
        for (String line : Files.readAllLines(runs.resolve(name).resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("train")) out.add(n.get("loss").asDouble());
        }
        return out;
    }

    private static int freePortFrom(int from, int to) throws IOException {
        for (int p = from + (int) (ProcessHandle.current().pid() % 1000); p < to; p++) {
            try (ServerSocket s = new ServerSocket(p, 1, InetAddress.getLoopbackAddress())) {
                return p;
            } catch (IOException busy) {
                // try the next one
            }
        }
        throw new IOException("no free port in [" + from + ", " + to + ")");
    }
}
