package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;

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
 * Resume through the trainer, one rank in this JVM: 50 steps, stop, resume, 50 more steps gives
 * bit-identical losses, final weights and optimizer state to 100 uninterrupted steps; checkpointing
 * every step (async) does not change a single bit of training.
 */
@org.junit.jupiter.api.extension.ExtendWith(NoLeaks.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrainerResumeTest {
    static final int STEPS = 100;
    @TempDir static Path runs;
    private Trainer.Result full;

    static Map<String, String> tiny(Path runs, String name) {
        Map<String, String> m = TinyRun.config(runs, name, STEPS);
        m.put("optim.warmup_steps", "5");
        return m;
    }

    private static Trainer.Result train(Map<String, String> cfg, ByteArrayOutputStream log) {
        return Trainer.runSingle(TrainConfig.load(null, cfg), new PrintStream(log, true), false);
    }

    private static List<Double> losses(Trainer.Result r) {
        return r.steps().stream().map(StepMetrics::loss).toList();
    }

    @BeforeAll
    void uninterrupted() {
        Map<String, String> cfg = tiny(runs, "full");
        cfg.put("checkpoint.every", Integer.toString(STEPS)); // one checkpoint, at the end, to compare optimizer state
        cfg.put("checkpoint.async", "false");
        full = train(cfg, new ByteArrayOutputStream());
        assertThat(full.steps()).hasSize(STEPS);
    }

    @Test
    void stopAndResumeIsBitIdenticalToNoStop() throws Exception {
        Map<String, String> cfg = tiny(runs, "split");
        cfg.put("checkpoint.every", "50");
        cfg.put("run.stop_after", "50");
        Trainer.Result first = train(cfg, new ByteArrayOutputStream());
        assertThat(first.steps()).hasSize(50);
        cfg.remove("run.stop_after");
        cfg.put("checkpoint.resume", "latest");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result second = train(cfg, log);
        assertThat(log.toString()).contains("resume: from").contains("step 50");

        List<Double> joined = new ArrayList<>(losses(first));
        joined.addAll(losses(second));
        assertThat(joined).isEqualTo(losses(full)); // exact doubles, not a tolerance
        assertThat(second.steps().getFirst().step()).as("steps done, counted as checkpoints count them").isEqualTo(51);

        byte[] weightsFull = Files.readAllBytes(full.modelDir().resolve(ModelFiles.WEIGHTS));
        assertThat(Files.readAllBytes(second.modelDir().resolve(ModelFiles.WEIGHTS))).isEqualTo(weightsFull);
        try (Checkpoint a = Checkpoint.open(runs.resolve("full/checkpoints").resolve(Checkpoints.dirName(STEPS)));
             Checkpoint b = Checkpoint.open(runs.resolve("split/checkpoints").resolve(Checkpoints.dirName(STEPS)))) {
            assertThat(b.pieces()).hasSameSizeAs(a.pieces());
            for (Piece p : a.pieces()) {
                Piece q = b.pieces().stream().filter(x -> x.name().equals(p.name())).findFirst().orElseThrow();
                assertThat(q.bytes().mismatch(p.bytes())).as(p.name()).isEqualTo(-1L);
            }
            assertThat(b.manifest().path("optimizer").path("steps").asLong()).isEqualTo(STEPS);
            assertThat(b.manifest().path("rng").path("data_position").path("step").asLong()).isEqualTo(STEPS);
            assertThat(b.tokenizer()).isNotNull();
        }
        // The metrics log of a resumed run continues the first one.
        long trainLines = Files.readAllLines(runs.resolve("split/metrics.jsonl")).stream().filter(l -> l.contains("\"train\"")).count();
        assertThat(trainLines).isEqualTo(STEPS);
    }

    @Test
    void asyncCheckpointsEveryStepDoNotChangeTraining() throws Exception {
        Map<String, String> cfg = tiny(runs, "every");
        cfg.put("checkpoint.every", "1");
        cfg.put("run.stop_after", "20");
        cfg.put("checkpoint.keep_last", "2");
        cfg.put("checkpoint.keep_every", "8");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result r = train(cfg, log);
        assertThat(losses(r)).isEqualTo(losses(full).subList(0, 20));
        assertThat(log.toString()).contains("checkpoints: 20 saved (async)");
        try (var s = Files.list(runs.resolve("every/checkpoints"))) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("step-00000008", "step-00000016", "step-00000019", "step-00000020");
        }
        assertThat(runs.resolve("every/checkpoint-stats.json")).exists();

        // resume latest skips a damaged newest checkpoint, says why, and continues from the one before
        Path shard = runs.resolve("every/checkpoints/step-00000020").resolve(Manifest.shardName(0, 1));
        byte[] b = Files.readAllBytes(shard);
        b[b.length - 3] ^= 1;
        Files.write(shard, b);
        cfg.put("checkpoint.resume", "latest");
        cfg.put("run.stop_after", "21");
        ByteArrayOutputStream log2 = new ByteArrayOutputStream();
        Trainer.Result resumed = train(cfg, log2);
        assertThat(log2.toString()).contains("resume: skipping").contains("step-00000020").contains("checksum")
                .contains("resume: from " + runs.resolve("every/checkpoints/step-00000019"));
        assertThat(losses(resumed)).isEqualTo(losses(full).subList(19, 21));
        // Step 20 ran twice (before the damage and after resuming from 19); the metrics log keeps it once, the second time.
        List<Long> steps = new ArrayList<>();
        for (String line : Files.readAllLines(runs.resolve("every/metrics.jsonl"))) {
            var record = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
            if (record.path("type").asText().equals("train")) steps.add(record.path("step").asLong());
        }
        assertThat(steps).isEqualTo(java.util.stream.LongStream.rangeClosed(1, 21).boxed().toList());
    }

    @Test
    void savesAfterTheListedStepsAndTheLast() throws Exception {
        Map<String, String> cfg = tiny(runs, "listed");
        cfg.put("checkpoint.steps", "3, 7,12");
        cfg.put("run.stop_after", "10");
        cfg.put("checkpoint.keep_last", "0");
        cfg.put("checkpoint.async", "false");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result r = train(cfg, log);
        assertThat(losses(r)).isEqualTo(losses(full).subList(0, 10));
        assertThat(log.toString()).contains("checkpoints: after steps 3, 7, 12 to");
        try (var s = Files.list(runs.resolve("listed/checkpoints"))) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("step-00000003", "step-00000007", "step-00000010");
        }
    }

    @Test
    void badCheckpointStepsAreRefusedWithTheKeyNamed() {
        for (String bad : List.of("0", "5,x", "-3", "4,,5")) {
            Map<String, String> cfg = tiny(runs, "bad");
            cfg.put("checkpoint.steps", bad);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> TrainConfig.load(null, cfg))
                    .hasMessageContaining("checkpoint.steps must be optimizer step counts >= 1").hasMessageContaining(bad);
        }
        Map<String, String> both = tiny(runs, "both");
        both.put("checkpoint.every", "4");
        both.put("checkpoint.steps", "6");
        TrainConfig c = TrainConfig.load(null, both);
        assertThat(java.util.stream.LongStream.rangeClosed(1, STEPS).filter(c::savesAfter).boxed().toList())
                .startsWith(4L, 6L, 8L, 12L).endsWith(96L, 100L);
    }
}
