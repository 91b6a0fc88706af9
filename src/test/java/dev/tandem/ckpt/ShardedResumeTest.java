package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.plan.ZeroStage;
import dev.tandem.train.StepMetrics;
import dev.tandem.train.TinyRun;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sharded checkpoints with ranks as real processes (started by the launcher, as {@code tandem
 * train --parallel.dp 2} does). Same plan: 50 steps + stop + resume + 50 steps is bit-identical to 100
 * steps. Other plans (2→1 ranks, 1→2 ranks at ZeRO-3, ZeRO-3→ZeRO-0): the losses continue as if
 * nothing changed, within the data-parallel parity tolerance of ZeroParityTest (2e-5 relative
 * over the 20 steps after the change: N ranks sum gradients in another order than one rank).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShardedResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STEPS = TrainerResumeTest.STEPS;
    private static final int HORIZON = 20;
    @TempDir static Path runs;
    private List<Double> oneRank;     // 100 steps, one rank, in this JVM
    private List<Double> twoRanks;    // 100 steps, 2 ranks ZeRO-2, uninterrupted

    private Map<String, String> cfg(String name) {
        return TrainerResumeTest.tiny(runs, name);
    }

    private List<Double> launch(int nproc, Map<String, String> cfg) throws Exception {
        cfg.put("parallel.dp", Integer.toString(nproc));
        TinyRun.launch(nproc, cfg);
        return trainLosses(cfg.get("run.name"));
    }

    private static List<Double> trainLosses(String name) throws Exception {
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(runs.resolve(name).resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("train")) losses.add(n.get("loss").asDouble());
        }
        return losses;
    }

    private Path ckpt(String run, long step) {
        return runs.resolve(run).resolve("checkpoints").resolve(Checkpoints.dirName(step));
    }

    /**
     * {@code actual[0, HORIZON)} against {@code expected[from, from + HORIZON)}: the 20 steps after
     * a plan change, the horizon over which ZeroParityTest establishes the 2e-5 tolerance (the
     * float reordering of another plan keeps compounding through Adam beyond it).
     */
    private static void assertClose(List<Double> actual, List<Double> expected, int from) {
        assertThat(actual.size()).isGreaterThanOrEqualTo(HORIZON);
        for (int i = 0; i < HORIZON; i++) {
            double e = expected.get(from + i), rel = Math.abs(actual.get(i) - e) / e;
            assertThat(rel).as("step %d: %s vs %s", from + i + 1, actual.get(i), e).isLessThan(2e-5);
        }
    }

    @BeforeAll
    void references() throws Exception {
        Map<String, String> one = cfg("one");
        one.put("checkpoint.every", "50");
        oneRank = Trainer.runSingle(TrainConfig.load(null, one), new PrintStream(new ByteArrayOutputStream()), false)
                .steps().stream().map(StepMetrics::loss).toList();
        Map<String, String> two = cfg("two");
        two.put("parallel.zero", "2");
        twoRanks = launch(2, two);
        assertThat(twoRanks).hasSize(STEPS);
        assertClose(twoRanks, oneRank, 0); // the plans agree before any checkpoint is involved
    }

    @Test
    void twoRanksStopAndResumeBitIdentically() throws Exception {
        Map<String, String> c = cfg("two-split");
        c.put("parallel.zero", "2");
        c.put("checkpoint.every", "50");
        c.put("run.stop_after", "50");
        launch(2, c);
        assertThat(ckpt("two-split", 50).resolve(Manifest.shardName(1, 2))).exists();
        c.remove("run.stop_after");
        c.put("checkpoint.resume", "latest");
        List<Double> all = launch(2, c); // the metrics log continues: 50 + 50 lines
        assertThat(all).isEqualTo(twoRanks);
        assertThat(Files.readAllBytes(runs.resolve("two-split/model").resolve(ModelFiles.WEIGHTS)))
                .isEqualTo(Files.readAllBytes(runs.resolve("two/model").resolve(ModelFiles.WEIGHTS)));

        // 2 -> 1: the same checkpoint, resumed by one rank in this JVM.
        Map<String, String> one = cfg("two-to-one");
        one.put("checkpoint.resume", ckpt("two-split", 50).toString());
        List<Double> cont = Trainer.runSingle(TrainConfig.load(null, one), new PrintStream(new ByteArrayOutputStream()), false)
                .steps().stream().map(StepMetrics::loss).toList();
        assertClose(cont, twoRanks, 50);
    }

    @Test
    void oneRankToTwoRanksZero3ThenZero3ToZero0() throws Exception {
        Map<String, String> up = cfg("one-to-two");
        up.put("parallel.zero", "3");
        up.put("checkpoint.resume", ckpt("one", 50).toString());
        up.put("checkpoint.every", "10"); // saves at 60, 70, ..., 100
        up.put("checkpoint.keep_last", "0");   // keeps them all
        List<Double> upLosses = launch(2, up);
        assertThat(upLosses).hasSize(STEPS - 50);
        assertClose(upLosses, oneRank, 50);
        try (Checkpoint c = Checkpoint.open(ckpt("one-to-two", 70))) {
            assertThat(c.plan().zero()).isEqualTo(ZeroStage.ZERO3);
            assertThat(c.manifest().path("files").size()).isEqualTo(2);
        }
        // ZeRO-3 -> ZeRO-0 on the same 2 ranks, against the ZeRO-3 run that went on from the same step.
        Map<String, String> down = cfg("zero3-to-zero0");
        down.put("parallel.zero", "0");
        down.put("checkpoint.resume", ckpt("one-to-two", 70).toString());
        assertClose(launch(2, down), upLosses, 20);
    }
}
