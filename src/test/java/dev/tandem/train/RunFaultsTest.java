package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.launch.Launcher;
import dev.tandem.launch.RestartLoop;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults around a run, with real processes and a real full disk: a rank that hangs while
 * checkpoints are being written, and a disk that fills up before the final model is written.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class RunFaultsTest {
    @TempDir Path runs;

    /**
     * SIGSTOP of rank 1 while saves are in flight: rank 0 must not sit in the checkpoint commit for
     * its ten-minute timeout; the job ends once the heartbeat notices, naming rank 1, and every
     * checkpoint left on disk is complete or ignored.
     */
    @Test
    void aRankThatHangsDuringCheckpointsIsNamedAndTheJobEnds() throws Exception {
        Map<String, String> cfg = TinyRun.config(runs, "hang", 100_000);
        cfg.put("parallel.dp", "2");
        cfg.put("parallel.zero", "2");
        cfg.put("checkpoint.every", "2");
        List<String> args = TinyRun.args(cfg);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8);
        Path runDir = runs.resolve("hang"), root = runDir.resolve("checkpoints");
        RestartLoop once = new RestartLoop((n, a, places) -> new Launcher(ps, ps, Duration.ofSeconds(2)).launch(n, a, Launcher.env(Map.of("TANDEM_HEARTBEAT_TIMEOUT", "3"), places)),
                2, runDir, root, 0, ps);
        CompletableFuture<Void> job = CompletableFuture.runAsync(() -> once.run(args));
        ProcessHandle rank1 = null;
        for (int i = 0; i < 1200 && (rank1 == null || Checkpoints.latest(root, s -> { }) == null); i++) {
            if (job.isDone()) throw new AssertionError("the job ended early:\n" + log);
            Thread.sleep(100);
            if (rank1 == null) rank1 = rankProcess(1);
        }
        assertThat(rank1).as("rank 1's process").isNotNull();
        signal("STOP", rank1);
        try {
            assertThatThrownBy(() -> job.get(3, TimeUnit.MINUTES)).as("the launcher's log:%n%s", log).hasCauseInstanceOf(TandemException.class)
                    .cause().hasMessageStartingWith("rank 1 stopped responding");
            assertThat(log.toString(StandardCharsets.UTF_8)).containsPattern("\\[rank 0] tandem: .*rank 1 is gone");
            // rank 0's flight record shows it waiting in a collective of rank 1's group; rank 1, stopped, wrote no dump,
            // but its ring says whether it was inside that collective or never reached it
            assertThat(log.toString(StandardCharsets.UTF_8)).containsPattern("tandem: flight recorder: rank 0 waited [\\d.]+ s in \\w+ #\\d+ "
                    + "of group '\\w+' \\(ranks 0,1\\): rank 1 (arrived and stopped inside it \\(killed or hung\\)|never arrived \\(its last there: #\\d+\\))")
                    .contains("tandem: flight recorder: rank 1 (read from its ring: it was killed or hung)");
        } finally {
            signal("CONT", rank1);
            rank1.destroyForcibly();
        }
        try (Checkpoint newest = Checkpoints.latest(root, s -> { })) {
            assertThat(newest).isNotNull();
            assertThat(newest.step()).isPositive();
        }
    }

    /**
     * SIGKILL of rank 1 once the first checkpoint is committed: with run.max_restarts the job starts
     * again from the newest checkpoint by itself, records why, and ends with the same weights, bit
     * for bit, as the same job left alone.
     */
    @Test
    void aKilledRankIsRestartedAndTheRunEndsAsIfNothingHappened() throws Exception {
        byte[] reference = trainTwoRanks("calm", null);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        byte[] restarted = trainTwoRanks("killed", log);
        assertThat(restarted).as("final weights after a restart").isEqualTo(reference);
        String printed = log.toString(StandardCharsets.UTF_8);
        assertThat(printed).containsPattern("tandem: restart 1 of 2: rank 1 was killed by signal 9 \\(SIGKILL, exit code 137\\); "
                + "resuming from step \\d+ \\(\\d+ step\\(s\\) to train again\\)");
        var restarts = new ObjectMapper().readTree(Files.readString(runs.resolve("killed").resolve("restarts.json")));
        assertThat(restarts).hasSize(1);
        assertThat(restarts.get(0).path("rank").asInt()).isEqualTo(1);
        List<Long> steps = new ArrayList<>();
        for (var r : MetricsLog.trainSteps(runs.resolve("killed").resolve("metrics.jsonl"))) steps.add(r.path("step").asLong());
        assertThat(steps).hasSize(60).doesNotHaveDuplicates(); // the steps after the checkpoint appear once, from the second attempt
    }

    /**
     * Trains 60 steps on 2 rank processes, checkpointing every 10, allowing 2 restarts; with a
     * {@code log}, kills rank 1 as soon as the first checkpoint is committed. Returns the final weights.
     */
    private byte[] trainTwoRanks(String name, ByteArrayOutputStream log) throws Exception {
        Map<String, String> cfg = TinyRun.config(runs, name, 60);
        cfg.put("parallel.dp", "2");
        cfg.put("checkpoint.every", "10");
        cfg.put("run.max_restarts", "2");
        cfg.put("run.tensorboard", "false");
        List<String> args = TinyRun.args(cfg);
        ByteArrayOutputStream sink = log == null ? new ByteArrayOutputStream() : log;
        PrintStream ps = new PrintStream(sink, true, StandardCharsets.UTF_8);
        Path runDir = runs.resolve(name);
        RestartLoop loop = new RestartLoop((n, a, places) -> new Launcher(ps, ps, Duration.ofSeconds(2)).launch(n, a, places),
                2, runDir, runDir.resolve("checkpoints"), 2, ps);
        CompletableFuture<Void> job = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                loop.run(args);
                job.complete(null);
            } catch (Throwable t) {
                job.completeExceptionally(t);
            }
        });
        if (log != null) {
            ProcessHandle rank1 = null;
            Path root = runDir.resolve("checkpoints");
            for (int i = 0; i < 6000 && (rank1 == null || Checkpoints.latest(root, s -> { }) == null); i++) {
                if (job.isDone()) throw new AssertionError("the job ended before the fault:\n" + sink);
                Thread.sleep(20);
                if (rank1 == null) rank1 = rankProcess(1);
            }
            signal("KILL", rank1);
        }
        try {
            job.get(3, TimeUnit.MINUTES);
        } catch (Exception e) {
            throw new AssertionError("the job failed:\n" + sink, e);
        }
        return Files.readAllBytes(runDir.resolve("model").resolve("model.safetensors"));
    }

    /** A rank JVM of this test's launcher, found by the RANK in its environment. */
    private static ProcessHandle rankProcess(int rank) throws IOException {
        for (ProcessHandle p : ProcessHandle.current().descendants().toList()) {
            Path environ = Path.of("/proc", Long.toString(p.pid()), "environ");
            if (!Files.isReadable(environ)) continue;
            String env = new String(Files.readAllBytes(environ), StandardCharsets.UTF_8);
            if (List.of(env.split("\0")).contains("RANK=" + rank)) return p;
        }
        return null;
    }

    private static void signal(String name, ProcessHandle p) throws Exception {
        new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(); // CONT after the launcher killed it finds none: fine
    }

    /**
     * The disk fills before the final model is written: the run fails with one line naming the
     * model directory and the newest checkpoint that holds the weights; no temporary is left, the
     * metrics log holds only whole lines, and the model of the earlier run is still there.
     */
    @Test
    void aFullDiskAtTheEndKeepsTheCheckpointAsTheResult() throws Exception {
        Path disk = runs.resolve("disk");
        Files.createDirectories(disk);
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", disk.toString())
                .redirectErrorStream(true).start();
        Assumptions.assumeTrue(mount.waitFor() == 0, "cannot mount a small tmpfs here (needs root): "
                + new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
        try {
            Map<String, String> first = TinyRun.config(disk, "full", 4);
            first.put("checkpoint.every", "4");
            first.put("run.tensorboard", "false");
            Trainer.runSingle(TrainConfig.load(null, first), new PrintStream(new ByteArrayOutputStream()), false);
            Path runDir = disk.resolve("full");
            byte[] model = Files.readAllBytes(runDir.resolve("model").resolve("model.safetensors"));
            fill(disk, 64 * 1024);

            Map<String, String> resumed = TinyRun.config(disk, "full", 6);
            resumed.put("checkpoint.resume", "latest");
            resumed.put("run.tensorboard", "false");
            assertThatThrownBy(() -> Trainer.runSingle(TrainConfig.load(null, resumed), new PrintStream(new ByteArrayOutputStream()), false))
                    .isInstanceOf(TandemException.class)
                    .hasMessageContaining("cannot write " + runDir.resolve("model") + ": no space left")
                    .hasMessageContaining("The trained weights are safe in checkpoint " + runDir.resolve("checkpoints").resolve(Checkpoints.dirName(4)))
                    .hasMessageContaining("./tandem export --checkpoint");
            try (Stream<Path> all = Files.walk(disk)) {
                assertThat(all.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp") || n.endsWith(".old"))).isEmpty();
            }
            ObjectMapper json = new ObjectMapper();
            List<Long> trainSteps = new ArrayList<>();
            for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
                var record = json.readTree(line); // every line whole
                if (record.path("type").asText().equals("train")) trainSteps.add(record.path("step").asLong());
            }
            assertThat(trainSteps).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
            assertThat(Files.readAllBytes(runDir.resolve("model").resolve("model.safetensors"))).isEqualTo(model);
        } finally {
            new ProcessBuilder("umount", "-l", disk.toString()).start().waitFor();
        }
    }

    /** Leaves about {@code free} bytes free on the file system holding {@code dir}. */
    private static void fill(Path dir, long free) throws IOException {
        long usable = Files.getFileStore(dir).getUsableSpace();
        try (var ch = java.nio.channels.FileChannel.open(dir.resolve("filler"), java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer zeros = java.nio.ByteBuffer.allocate(64 * 1024);
            for (long left = usable - free; left > 0; left -= zeros.capacity()) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), left));
                ch.write(zeros);
            }
        }
    }
}
