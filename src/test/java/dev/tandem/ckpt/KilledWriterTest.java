package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.TandemException;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real thing: a training process checkpointing every step (async) is killed with SIGKILL at
 * a random moment, twice, each time resuming from {@code latest}. Every directory with a manifest
 * must verify completely, the others must be reported incomplete, and training must go on from
 * the newest valid one. (No timing is asserted: whatever the moment of the kill, these hold.)
 */
class KilledWriterTest {
    @TempDir Path runs;

    private List<String> child(List<String> cliArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib:jdwp") && !a.startsWith("-javaagent")) cmd.add(a);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.tandem.cli.Main"));
        cmd.addAll(cliArgs);
        return cmd;
    }

    private List<String> trainArgs(String resume) {
        List<String> a = new ArrayList<>(List.of("train", "--model.n_layer", "1", "--model.n_head", "2", "--model.n_embd", "64", "--model.block_size", "32",
                "--data.batch_size", "4", "--run.steps", "10000", "--eval.every", "0", "--eval.batches", "1", "--run.log_every", "1",
                "--run.name", "killed", "--run.runs_dir", runs.toString(), "--run.threads", "1", "--checkpoint.every", "1", "--checkpoint.keep_last", "3"));
        if (resume != null) a.addAll(List.of("--checkpoint.resume", resume));
        return a;
    }

    @Test
    void killedAtRandomMomentsTheNewestValidCheckpointAlwaysLoads() throws Exception {
        Path root = runs.resolve("killed/checkpoints");
        SplittableRandom rnd = new SplittableRandom(7);
        long lastStep = 0;
        for (int round = 0; round < 2; round++) {
            Process p = new ProcessBuilder(child(trainArgs(round == 0 ? null : "latest")))
                    .redirectErrorStream(true).redirectOutput(runs.resolve("child" + round + ".log").toFile()).start();
            try {
                // Wait until this process has saved a few checkpoints past the last one, then kill it mid-stream.
                long target = lastStep + 3;
                while (p.isAlive() && Checkpoints.newestFirst(root).stream().noneMatch(d -> Checkpoints.stepOf(d) >= target
                        && Files.exists(d.resolve(Manifest.FILE)))) {
                    Thread.sleep(20);
                }
                assertThat(p.isAlive()).as("child exited early: %s", Files.readString(runs.resolve("child" + round + ".log"))).isTrue();
                Thread.sleep(rnd.nextInt(400));
            } finally {
                p.destroyForcibly();
                p.waitFor(60, TimeUnit.SECONDS);
            }
            for (Path dir : Checkpoints.newestFirst(root)) {
                if (Files.exists(dir.resolve(Manifest.FILE))) {
                    try (Checkpoint c = Checkpoint.open(dir)) {
                        assertThat(c.step()).isEqualTo(Checkpoints.stepOf(dir));
                    }
                } else {
                    try {
                        Checkpoint.open(dir).close();
                        throw new AssertionError(dir + " has no manifest but opened");
                    } catch (TandemException e) {
                        assertThat(e.getMessage()).contains("incomplete");
                    }
                }
            }
            try (Checkpoint latest = Checkpoints.latest(root, s -> { })) {
                assertThat(latest.step()).isGreaterThanOrEqualTo(lastStep + 3);
                lastStep = latest.step();
            }
        }
        Map<String, String> cfg = TrainerResumeTest.tiny(runs, "killed");
        cfg.putAll(Map.of("model.n_embd", "64", "data.batch_size", "4", "run.steps", "10000", "checkpoint.every", "1",
                "checkpoint.keep_last", "3", "checkpoint.resume", "latest", "run.stop_after", Long.toString(lastStep + 1)));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result r = Trainer.runSingle(TrainConfig.load(null, cfg), new PrintStream(log, true), false);
        assertThat(r.steps()).hasSize(1);
        assertThat(r.steps().getFirst().step()).isEqualTo(lastStep + 1);
    }
}
