package dev.tandem.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the Spark job settles before a rank starts, without a Spark context: the run's ranks and
 * paths from Tandem's printed config, the checkpoint-directory probe (a node-local directory of the
 * same name is told apart from the shared one), and the arguments of a retried stage.
 */
class PreflightTest {
    @TempDir Path dir;

    private static final String CONFIG = """
            [model]
            n_layer = 2

            [parallel]
            dp = 2
            tp = 2
            pp = 1
            cp = 1
            islands = 2
            schedule = "1f1b"

            [checkpoint]
            every = 0
            steps = ""
            dir = ""

            [run]
            name = "my \\"run\\""
            runs_dir = "runs"
            """;

    @Test
    void ranksAndPathsComeFromTheResolvedConfig() {
        RunSettings run = RunSettings.parse(CONFIG, Path.of("/work"));
        assertEquals(8, run.ranks()); // islands·dp·cp·tp·pp
        assertEquals(Path.of("/work/runs/my \"run\""), run.runDir());
        assertEquals(Path.of("/work/runs/my \"run\"/checkpoints"), run.checkpointDir());
        assertEquals(false, run.checkpoints());
        RunSettings shared = RunSettings.parse(CONFIG.replace("dir = \"\"", "dir = \"/shared/ckpt\"").replace("every = 0", "every = 50"),
                Path.of("/work"));
        assertEquals(Path.of("/shared/ckpt"), shared.checkpointDir());
        assertEquals(true, shared.checkpoints());
    }

    @Test
    void aConfigWithoutAKeyIsNamed() {
        TandemSparkException e = assertThrows(TandemSparkException.class,
                () -> RunSettings.parse(CONFIG.replace("islands = 2\n", ""), Path.of("/work")));
        assertTrue(e.getMessage().contains("parallel.islands"), e.getMessage());
    }

    @Test
    void theSharedCheckpointDirectoryPassesANodeLocalOneIsRefused() throws Exception {
        Path shared = dir.resolve("ckpt");
        CheckpointProbe probe = CheckpointProbe.place(shared);
        assertNull(probe.problemOn("node1"));
        // Another node whose path of the same name is its own local directory: there, the driver's probe is absent.
        Path local = dir.resolve("node2-local/ckpt");
        Files.createDirectories(local);
        CheckpointProbe onNode2 = new CheckpointProbe(local.toString(), probe.token());
        String problem = onNode2.problemOn("node2");
        assertTrue(problem.contains(local + " on node2 is not the one the driver wrote to")
                && problem.contains("shared file system mounted at the same path on every node"), problem);
        // A leftover probe of an earlier job does not pass for this one.
        CheckpointProbe.place(local);
        assertTrue(onNode2.problemOn("node2").contains("another job's token"));
        probe.remove();
        try (var left = Files.list(shared)) {
            assertTrue(left.findAny().isEmpty(), "the probe leaves nothing behind");
        }
    }

    @Test
    void aRetriedStageResumesFromTheNewestCheckpoint() {
        assertEquals(List.of("train", "--run.steps", "9", "--checkpoint.resume", "latest"),
                BarrierTrainTask.withResumeLatest(List.of("train", "--checkpoint.resume", "runs/x/step-4", "--run.steps", "9")));
        assertEquals(List.of("train", "--checkpoint.resume", "latest"),
                BarrierTrainTask.withResumeLatest(List.of("train", "--checkpoint.resume=runs/x")));
    }

    @Test
    void anExecutorAddressIsItsHost() {
        assertEquals("10.1.2.3", BarrierTrainTask.host("10.1.2.3:41234"));
        assertEquals("node7", BarrierTrainTask.host("node7"));
        assertEquals("fe80::1", BarrierTrainTask.host("[fe80::1]:41234"));
    }

    @Test
    void theJobTakesTandemTrainsArguments() {
        assertEquals(List.of("train", "--config", "a.toml"), TandemSparkJob.trainArgs(new String[] {"train", "--config", "a.toml"}));
        TandemSparkException e = assertThrows(TandemSparkException.class, () -> TandemSparkJob.trainArgs(new String[] {"--config", "a"}));
        assertTrue(e.getMessage().startsWith("usage: spark-submit"), e.getMessage());
        TandemSparkException home = assertThrows(TandemSparkException.class, () -> TandemInstallation.of(dir.toString(), null));
        assertTrue(home.getMessage().contains("not an executable Tandem launcher"), home.getMessage());
    }
}
