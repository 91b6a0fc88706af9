package dev.tandem.train.tensorboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.train.RunStart;
import dev.tandem.train.TinyRun;
import dev.tandem.train.Trainer;
import dev.tandem.train.TrainingListener;
import dev.tandem.train.config.TrainConfig;
import dev.tandem.train.tensorboard.EventFileReader.Event;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny training run's TensorBoard events, read back by the independent {@link EventFileReader}:
 * the same scalars (as float) at the same steps as the run's metrics.jsonl; none with
 * run.tensorboard = false; a second file when the run resumes.
 */
class TrainingEventsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path runs;

    private Map<String, String> tiny(String name) {
        Map<String, String> m = TinyRun.config(runs, name, 4);
        m.put("data.batch_size", "4");
        m.put("eval.every", "2");
        m.remove("optim.lr");     // the default
        m.remove("run.log_every");
        return m;
    }

    /** Trains in this JVM as one rank; returns what the listeners were told at the start. */
    private static RunStart train(Map<String, String> cfg) {
        List<RunStart> started = new ArrayList<>();
        TrainingListener spy = new TrainingListener() {
            @Override
            public void started(RunStart s) {
                started.add(s);
            }
        };
        ProcessGroup one = LocalWorld.create(1, CommOptions.defaults()).getFirst();
        try (one) {
            new Trainer(TrainConfig.load(null, cfg), new PrintStream(new ByteArrayOutputStream()), false, one, List.of(spy)).run();
        }
        return started.getFirst();
    }

    private static List<JsonNode> metrics(Path runDir) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) out.add(JSON.readTree(line));
        return out;
    }

    /** The scalars metrics.jsonl has for one record, as the tags TensorBoard shows them, rounded to float. */
    private static Map<String, Float> expected(JsonNode r, double predictedStepMs) {
        Map<String, Float> v = new LinkedHashMap<>();
        if (r.path("type").asText().equals("eval")) {
            v.put("eval/loss", (float) r.path("val_loss").asDouble());
            v.put("eval/bits_per_byte", (float) r.path("val_bits_per_byte").asDouble());
            return v;
        }
        v.put("train/loss", (float) r.path("loss").asDouble());
        v.put("train/lr", (float) r.path("lr").asDouble());
        v.put("train/grad_norm", (float) r.path("grad_norm").asDouble());
        v.put("train/tokens_per_s", (float) r.path("tokens_per_s").asDouble());
        v.put("train/mfu", (float) r.path("mfu").asDouble());
        v.put("train/step_ms", (float) r.path("step_ms").asDouble());
        v.put("train/comm_wait_ms", (float) r.path("comm_wait_ms").asDouble());
        v.put("plan/predicted_step_ms", (float) predictedStepMs);
        for (MemoryCategory c : MemoryCategory.values()) {
            String name = c.name().toLowerCase(Locale.ROOT);
            v.put("memory/" + name + "_mib", (float) (r.path("memory_bytes").path(name).asLong() / (double) (1 << 20)));
        }
        return v;
    }

    private static void assertSameAsMetrics(List<Event> events, List<JsonNode> metrics, double predictedStepMs) {
        assertThat(events.getFirst().fileVersion()).isEqualTo("brain.Event:2");
        List<Event> records = events.subList(1, events.size());
        assertThat(records).hasSameSizeAs(metrics);
        for (int i = 0; i < metrics.size(); i++) {
            JsonNode r = metrics.get(i);
            assertThat(records.get(i).step()).as("record %d", i).isEqualTo(r.path("step").asLong());
            assertThat(records.get(i).scalars()).as("record %d (%s)", i, r).containsExactlyEntriesOf(expected(r, predictedStepMs));
        }
    }

    @Test
    void eventsHoldTheSameScalarsAndStepsAsTheMetricsLog() throws Exception {
        RunStart start = train(tiny("tb"));
        assertThat(start.predictedStepMs()).as("the planner describes the one-rank plan").isPositive();
        Path runDir = runs.resolve("tb");
        List<Path> files = EventFileReader.files(runDir.resolve("tb"));
        assertThat(files).hasSize(1);
        assertThat(files.getFirst().getFileName().toString()).startsWith("events.out.tfevents.");

        List<JsonNode> metrics = metrics(runDir);
        assertThat(metrics).extracting(r -> r.path("type").asText() + " " + r.path("step").asLong())
                .containsExactly("train 1", "train 2", "eval 2", "train 3", "train 4", "eval 4");
        List<Event> events = EventFileReader.read(files.getFirst());
        assertSameAsMetrics(events, metrics, start.predictedStepMs());
        assertThat(events.get(1).scalars().get("train/loss")).isBetween(5f, 10f); // ≈ ln(vocab 2048) at the start
        assertThat(events.get(1).scalars().get("memory/parameters_mib")).isPositive();
    }

    @Test
    void turnedOffThereIsNoTensorBoardFolder() {
        Map<String, String> cfg = tiny("off");
        cfg.put("run.tensorboard", "false");
        train(cfg);
        assertThat(runs.resolve("off/metrics.jsonl")).exists();
        assertThat(runs.resolve("off/tb")).doesNotExist();
    }

    /** A resumed run adds a file of its own; the first keeps what it had, the second starts at the checkpoint's step. */
    @Test
    void aResumedRunAppendsASecondFile() throws Exception {
        Map<String, String> cfg = tiny("resumed");
        cfg.put("checkpoint.every", "2");
        cfg.put("checkpoint.async", "false");
        cfg.put("run.stop_after", "2");
        double predicted = train(cfg).predictedStepMs();
        Path tb = runs.resolve("resumed/tb");
        List<Path> first = EventFileReader.files(tb);
        assertThat(first).hasSize(1);
        byte[] firstBytes = Files.readAllBytes(first.getFirst());

        cfg.remove("run.stop_after");
        cfg.put("checkpoint.resume", "latest");
        RunStart second = train(cfg);
        assertThat(second.firstStep()).isEqualTo(2);

        List<Path> files = EventFileReader.files(tb);
        assertThat(files).hasSize(2).startsWith(first.getFirst());
        assertThat(Files.readAllBytes(first.getFirst())).as("the first file is left as it was").isEqualTo(firstBytes);
        List<JsonNode> metrics = metrics(runs.resolve("resumed"));
        assertSameAsMetrics(EventFileReader.read(files.get(0)), metrics.subList(0, 3), predicted);
        assertSameAsMetrics(EventFileReader.read(files.get(1)), metrics.subList(3, metrics.size()), second.predictedStepMs());
        assertThat(EventFileReader.read(files.get(1))).extracting(Event::step).containsExactly(0L, 3L, 4L, 4L);
    }
}
