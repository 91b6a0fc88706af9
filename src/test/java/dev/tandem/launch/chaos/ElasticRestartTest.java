package dev.tandem.launch.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.launch.Launcher;
import dev.tandem.launch.RestartLoop;
import dev.tandem.train.TinyRun;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An elastic job (run.elastic) that loses a rank goes on with a data-parallel replica fewer: three
 * rank processes, one killed after step 6, the job resumes the checkpoint of step 4 resharded over
 * two ranks, and every step's loss still matches one rank training the same global batches (the
 * same tolerance as the ZeRO parity tests: only the order of float additions differs).
 */
class ElasticRestartTest {
    private static final int STEPS = 12;
    @TempDir Path runs;

    @Test
    void aKilledRanksReplicaIsGivenUpAndTrainingGoesOnAtTheSameLosses() throws Exception {
        Map<String, String> cfg = TinyRun.config(runs, "elastic", STEPS);
        cfg.put("data.batch_size", "12");
        cfg.put("parallel.zero", "1");
        cfg.put("checkpoint.every", "4");
        Map<String, String> single = new java.util.LinkedHashMap<>(cfg);
        single.put("run.name", "single");
        List<Double> reference = Trainer.runSingle(TrainConfig.load(null, single), new PrintStream(new ByteArrayOutputStream()), false)
                .steps().stream().map(s -> s.loss()).toList();

        cfg.put("parallel.dp", "3");
        cfg.put("run.max_restarts", "2");
        cfg.put("run.elastic", "true");
        Path runDir = runs.resolve("elastic");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(log, true);
        RestartLoop loop = new RestartLoop((n, a) -> new Launcher(ps, ps, Duration.ofSeconds(2)).launch(n, a, Map.of("TANDEM_HEARTBEAT_TIMEOUT", "5")),
                3, runDir, runDir.resolve("checkpoints"), 2, new RestartLoop.Elastic(12, 1), ps);
        Injector kill = new Injector(Fault.KILL, 2, 6, runDir, runDir.resolve("checkpoints"));
        kill.start();
        try {
            loop.run(TinyRun.args(cfg));
        } catch (RuntimeException e) {
            throw new AssertionError("the elastic job failed:\n" + log, e);
        } finally {
            kill.stopWatching();
        }
        assertThat(kill.injectedAt()).as("the rank was killed").isPositive();
        JsonNode restart = new ObjectMapper().readTree(runDir.resolve("restarts.json").toFile()).get(0);
        assertThat(restart.path("world_size").asInt()).isEqualTo(3);
        assertThat(restart.path("restarted_world_size").asInt()).isEqualTo(2);
        assertThat(log.toString()).contains("continuing on 2 rank(s) instead of 3 (run.elastic)");
        List<JsonNode> steps = ChaosTrial.records(runDir);
        assertThat(steps).hasSize(STEPS);
        for (JsonNode s : steps) {
            int i = s.path("step").asInt() - 1;
            double rel = Math.abs(s.path("loss").asDouble() - reference.get(i)) / reference.get(i);
            assertThat(rel).as("step %d", i + 1).isLessThan(2e-5);
        }
    }
}
