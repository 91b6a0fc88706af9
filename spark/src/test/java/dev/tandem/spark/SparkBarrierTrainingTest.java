package dev.tandem.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code spark-submit} in local mode with two barrier tasks (one rank each) trains exactly as
 * {@code tandem train} with the same config on two ranks started by Tandem's own launcher: the
 * same plan on the same number of rank processes sums in the same order, so the losses are equal
 * bit for bit. A rank killed inside the Spark job fails the barrier stage; Spark retries it and
 * the ranks resume from the newest checkpoint, ending with the losses of a run that was never
 * interrupted (resume is bit-exact). Too few task slots are refused before anything trains.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SparkBarrierTrainingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STEPS = 16;
    @TempDir static Path dir;
    private List<Double> launcherLosses;

    /** A tiny run on two data-parallel ranks, checkpointed every 2 steps; files under {@code dir/runs} (a relative path). */
    private static Map<String, String> cfg(String name) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model.n_layer", "1");
        m.put("model.n_head", "2");
        m.put("model.n_embd", "32");
        m.put("model.block_size", "32");
        m.put("data.batch_size", "8");
        m.put("run.steps", Integer.toString(STEPS));
        m.put("optim.warmup_steps", "2");
        m.put("optim.lr", "3e-3");
        m.put("eval.every", "0");
        m.put("eval.batches", "1");
        m.put("run.log_every", "1");
        m.put("run.threads", "1");
        m.put("run.name", name);
        m.put("run.runs_dir", "runs");
        m.put("parallel.dp", "2");
        m.put("checkpoint.every", "2");
        return m;
    }

    @BeforeAll
    void trainWithTheLocalLauncher() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(SparkSubmitRun.TANDEM_HOME.resolve("tandem").toString()));
        cmd.addAll(SparkSubmitRun.trainArgs(cfg("launcher")));
        Path log = dir.resolve("launcher.log");
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES) && p.exitValue() == 0, () -> "tandem train failed:\n" + read(log));
        launcherLosses = losses("launcher").values().stream().map(l -> l.get(0)).toList();
        assertEquals(STEPS, launcherLosses.size());
    }

    @Test
    void sparkSubmitTrainsAsTheLocalLauncherDoes() throws Exception {
        Path log = dir.resolve("spark.log");
        Process p = SparkSubmitRun.start(dir, "local[2]", SparkSubmitRun.trainArgs(cfg("spark")), log);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES) && p.exitValue() == 0, () -> "spark-submit failed:\n" + read(log));
        String out = read(log);
        assertTrue(out.contains("[rank 0] step     1/" + STEPS), () -> "rank 0's output, prefixed:\n" + out);
        assertTrue(out.contains("tandem-spark: rank(s) [0] on ") && out.contains("tandem-spark: rank(s) [1] on "),
                () -> "each task reports its rank's exit:\n" + out);
        assertEquals(launcherLosses, losses("spark").values().stream().map(l -> l.get(0)).toList());
    }

    @Test
    void aRankKilledInsideTheJobIsRetriedFromTheNewestCheckpoint() throws Exception {
        Path log = dir.resolve("killed.log");
        Process submit = SparkSubmitRun.start(dir, "local[2]", SparkSubmitRun.trainArgs(cfg("killed")), log);
        try {
            Path checkpoints = dir.resolve("runs/killed/checkpoints");
            while (submit.isAlive() && newestCheckpoint(checkpoints) < 4) Thread.sleep(20);
            Optional<ProcessHandle> rank = submit.descendants()
                    .filter(h -> h.info().commandLine().orElse("").contains("dev.tandem.cli.Main")).findFirst();
            assertTrue(rank.isPresent(), () -> "no rank process to kill (did training end first?):\n" + read(log));
            rank.get().destroyForcibly(); // SIGKILL: no chance to clean up, as when a node's process dies
            assertTrue(submit.waitFor(5, TimeUnit.MINUTES) && submit.exitValue() == 0, () -> "spark-submit failed:\n" + read(log));
        } finally {
            submit.descendants().forEach(ProcessHandle::destroyForcibly);
            submit.destroyForcibly();
        }
        String out = read(log);
        assertTrue(out.contains("was killed by signal 9"), () -> "the task names the killed rank:\n" + out);
        assertTrue(out.contains("stage attempt 1: ranks resume from the newest checkpoint"), () -> "Spark retried the stage:\n" + out);
        assertTrue(out.contains("resume: from "), () -> "the ranks resumed from a checkpoint:\n" + out);
        // Steps trained again after the resume are logged again; every entry equals the uninterrupted run's.
        Map<Integer, List<Double>> losses = losses("killed");
        assertEquals(STEPS, losses.size());
        losses.forEach((step, seen) -> seen.forEach(l -> assertEquals(launcherLosses.get(step - 1), l, "step " + step)));
    }

    @Test
    void fewerSlotsThanRanksIsRefusedBeforeTraining() throws Exception {
        Path log = dir.resolve("slots.log");
        Process p = SparkSubmitRun.start(dir, "local[1]", SparkSubmitRun.trainArgs(cfg("slots")), log);
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "spark-submit did not end");
        String out = read(log);
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("tandem-spark: the run has 2 rank(s) in 2 barrier task(s), but the cluster offers 1 task slot(s)"), out);
        assertFalse(out.contains("\tat "), () -> "a message, not a stack trace:\n" + out);
        assertFalse(Files.exists(dir.resolve("runs/slots")), "nothing was trained or written");
    }

    /** The newest step with a complete checkpoint (its manifest written last), or -1. */
    private static long newestCheckpoint(Path root) throws IOException {
        if (!Files.isDirectory(root)) return -1;
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith("step-") && Files.exists(d.resolve("manifest.json")))
                    .mapToLong(d -> Long.parseLong(d.getFileName().toString().substring(5))).max().orElse(-1);
        }
    }

    /** Every training loss the run logged, by step, in the order logged. */
    private static Map<Integer, List<Double>> losses(String name) throws IOException {
        Map<Integer, List<Double>> out = new TreeMap<>();
        for (String line : Files.readAllLines(dir.resolve("runs").resolve(name).resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("train")) {
                out.computeIfAbsent(n.get("step").asInt(), s -> new ArrayList<>()).add(n.get("loss").asDouble());
            }
        }
        return out;
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
