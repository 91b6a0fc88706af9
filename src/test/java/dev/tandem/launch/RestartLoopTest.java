package dev.tandem.launch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.comm.PeerFailureException;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which failures restart the job, how often, with which arguments, and what is recorded. */
class RestartLoopTest {
    @TempDir Path run;
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(printed, true);

    private static LaunchFailedException failed(int rank, int code, boolean hung) {
        return new LaunchFailedException("rank " + rank + " failed", new RankFailure(rank, code, hung));
    }

    @Test
    void faultsRestartAndMistakesDoNot() {
        assertThat(new RankFailure(1, 137, false).restartable()).as("SIGKILL").isTrue();
        assertThat(new RankFailure(1, 139, false).restartable()).as("SIGSEGV").isTrue();
        assertThat(new RankFailure(1, 137, true).restartable()).as("hung").isTrue();
        assertThat(new RankFailure(0, PeerFailureException.EXIT_CODE, false).restartable()).as("only peers noticed").isTrue();
        assertThat(new RankFailure(0, 2, false).restartable()).as("a user error").isFalse();
        assertThat(new RankFailure(0, 1, false).restartable()).as("an unexpected error").isFalse();
        assertThat(new RankFailure(0, 130, false).restartable()).as("Ctrl-C").isFalse();
        assertThat(new RankFailure(0, 143, false).restartable()).as("SIGTERM").isFalse();
    }

    /** With no complete checkpoint yet, a restart starts as the job first started (resuming "latest" would find nothing). */
    @Test
    void restartsAsFirstStartedWhileThereIsNoCheckpointUntilItSucceeds() throws Exception {
        List<List<String>> calls = new ArrayList<>();
        RestartLoop loop = new RestartLoop((nproc, args, env) -> {
            calls.add(args);
            if (calls.size() < 3) throw failed(1, 137, false);
        }, 2, run, run.resolve("checkpoints"), 2, out);
        loop.run(List.of("train", "--checkpoint.resume", "runs/x/step-00000010", "--run.steps", "9"));
        List<String> first = List.of("train", "--checkpoint.resume", "runs/x/step-00000010", "--run.steps", "9");
        assertThat(calls).containsExactly(first, first, first);
        // an incomplete checkpoint (cut short by the fault) is not one to resume from
        Files.createDirectories(run.resolve("checkpoints").resolve("step-00000004"));
        calls.clear();
        loop.run(List.of("train", "--run.steps", "9"));
        assertThat(calls).containsExactly(List.of("train", "--run.steps", "9"), List.of("train", "--run.steps", "9"),
                List.of("train", "--run.steps", "9"));
        assertThat(printed.toString()).contains("tandem: restart 1 of 2: rank 1 was killed by signal 9 (SIGKILL, exit code 137); "
                + "no checkpoint yet: starting again from step 0 (0 step(s) to train again)");
        var log = new ObjectMapper().readTree(Files.readString(run.resolve("restarts.json")));
        assertThat(log).hasSize(2); // the second job's restarts
        assertThat(log.get(1).path("restart").asInt()).isEqualTo(2);
        assertThat(log.get(1).path("exit_code").asInt()).isEqualTo(137);
    }

    @Test
    void anElasticJobRestartsWithAReplicaFewerThatStillDividesTheBatch() throws Exception {
        List<Integer> sizes = new ArrayList<>();
        List<List<String>> calls = new ArrayList<>();
        RestartLoop loop = new RestartLoop((nproc, args, env) -> {
            sizes.add(nproc);
            calls.add(args);
            if (sizes.size() < 3) throw failed(nproc - 1, 137, false);
        }, 4, run, run.resolve("checkpoints"), 3, new RestartLoop.Elastic(12, 1, 1, 1), out);
        loop.run(List.of("train", "--parallel.dp", "4"));
        assertThat(sizes).containsExactly(4, 3, 2);
        assertThat(calls.get(2)).as("the last --parallel.dp wins").containsExactly("train", "--parallel.dp", "4", "--parallel.dp", "2");
        assertThat(printed.toString()).contains("continuing on 3 rank(s) instead of 4, without rank 3's place (3) (run.elastic)");
        var log = new ObjectMapper().readTree(Files.readString(run.resolve("restarts.json")));
        assertThat(log.get(1).path("world_size").asInt()).isEqualTo(3);
        assertThat(log.get(1).path("restarted_world_size").asInt()).isEqualTo(2);
        // 8 rows in 2 micro-batches: 3 replicas cannot share them, 2 can; 1 replica is the last step down
        assertThat(new RestartLoop.Elastic(8, 2, 1, 1).shrink(4)).isEqualTo(2);
        assertThat(new RestartLoop.Elastic(8, 2, 1, 1).shrink(1)).isZero();
    }

    /**
     * Every rank stops with the eviction code after rank 0 recorded the verdict: the job goes on
     * without the slow rank's place, the others keep theirs, and the verdict is consumed.
     */
    @Test
    void aSlowRankIsLeftOutAndTheOtherPlacesAreKept() throws Exception {
        List<Integer> sizes = new ArrayList<>();
        List<String> places = new ArrayList<>();
        RestartLoop loop = new RestartLoop((nproc, args, env) -> {
            sizes.add(nproc);
            places.add(env.get(RestartLoop.PLACES_ENV));
            if (sizes.size() == 1) {
                try {
                    Files.writeString(run.resolve("evicted.json"), "{\"rank\": 1, \"slowdown\": 1.6, \"since_step\": 5, \"checkpoint_step\": 12}");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                throw failed(0, dev.tandem.train.SlowRankEviction.EXIT_CODE, false); // whichever rank the launcher reaped first
            }
            if (sizes.size() == 2) throw failed(1, 137, false); // then the rank in place 2 crashes
        }, 4, run, run.resolve("checkpoints"), 3, new RestartLoop.Elastic(12, 1, 1, 1), out);
        loop.run(List.of("train", "--parallel.dp", "4"));
        assertThat(sizes).containsExactly(4, 3, 2);
        assertThat(places).containsExactly("0,1,2,3", "0,2,3", "0,3");
        assertThat(printed.toString()).contains("tandem: restart 1 of 3: rank 1 was 1.60x slower than its peers from step 5 to step 12 "
                + "(run.evict_slow_after); no checkpoint yet: starting again from step 0; continuing on 3 rank(s) instead of 4, "
                + "without rank 1's place (1) (run.elastic)")
                .contains("without rank 1's place (2) (run.elastic)")
                .doesNotContain("flight recorder");
        assertThat(run.resolve("evicted.json")).doesNotExist();
        var log = new ObjectMapper().readTree(Files.readString(run.resolve("restarts.json")));
        assertThat(log.get(0).path("slow_rank_left_out").asBoolean()).isTrue();
        assertThat(log.get(0).path("place").asInt()).isEqualTo(1);
        assertThat(log.get(1).path("slow_rank_left_out").asBoolean()).isFalse();
        assertThat(log.get(1).path("place").asInt()).isEqualTo(2);
    }

    /**
     * With tensor and pipeline parallelism a replica is several ranks: the failed rank's whole
     * replica goes (its tensor-parallel partner and its counterparts in the other stages), the
     * places left keep the plan's layout (tp fastest, pp slowest).
     */
    @Test
    void anElasticJobWithTensorAndPipelineParallelismGivesUpAWholeReplica() {
        var elastic = new RestartLoop.Elastic(8, 2, 2, 2); // tp·cp = 2, pp = 2: ranks (stage·dp + replica)·2 + tp rank
        assertThat(elastic.dp(8)).isEqualTo(2);
        assertThat(elastic.without(List.of(0, 1, 2, 3, 4, 5, 6, 7), 3, 2, 1)).containsExactly(0, 1, 4, 5);
        assertThat(elastic.without(List.of(0, 1, 2, 3, 4, 5, 6, 7), 4, 2, 1)).containsExactly(2, 3, 6, 7);
        List<Integer> sizes = new ArrayList<>();
        List<String> places = new ArrayList<>();
        List<List<String>> calls = new ArrayList<>();
        RestartLoop loop = new RestartLoop((nproc, args, env) -> {
            sizes.add(nproc);
            places.add(env.get(RestartLoop.PLACES_ENV));
            calls.add(args);
            if (sizes.size() == 1) throw failed(2, 137, false); // replica 1 of 3 (tp = 2, pp = 1)
            if (sizes.size() == 2) throw failed(3, 137, false); // replica 1 of the 2 left: places 4 and 5
        }, 6, run, run.resolve("checkpoints"), 2, new RestartLoop.Elastic(12, 1, 2, 1), out);
        loop.run(List.of("train", "--parallel.dp", "3", "--parallel.tp", "2"));
        assertThat(sizes).containsExactly(6, 4, 2);
        assertThat(places).containsExactly("0,1,2,3,4,5", "0,1,4,5", "0,1");
        assertThat(calls.get(2)).endsWith("--parallel.dp", "1");
        assertThat(printed.toString()).contains("continuing on 4 rank(s) instead of 6, without the data-parallel replica of rank 2 (place 2)");
    }

    @Test
    void givesUpAfterTheLastRestartAndNeverRetriesAMistake() {
        List<List<String>> calls = new ArrayList<>();
        RestartLoop crashing = new RestartLoop((nproc, args, env) -> {
            calls.add(args);
            throw failed(0, 134, false);
        }, 2, run, run.resolve("checkpoints"), 2, out);
        assertThatThrownBy(() -> crashing.run(List.of("train"))).isInstanceOf(TandemException.class)
                .hasMessage("rank 0 failed (gave up after 2 restart(s), run.max_restarts)");
        assertThat(calls).hasSize(3);

        calls.clear();
        RestartLoop mistaken = new RestartLoop((nproc, args, env) -> {
            calls.add(args);
            throw failed(0, 2, false);
        }, 2, run, run.resolve("checkpoints"), 5, out);
        assertThatThrownBy(() -> mistaken.run(List.of("train"))).hasMessage("rank 0 failed");
        assertThat(calls).hasSize(1);
    }

    @Test
    void restartsNeedCheckpoints() {
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("run.max_restarts", "2")))
                .hasMessageContaining("run.max_restarts = 2 restarts from the newest checkpoint, but this run saves none: set checkpoint.every");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("run.max_restarts", "-1"))).hasMessageContaining("run.max_restarts must be >= 0");
    }

    @Test
    void elasticNeedsRestartsAndAPlanThatReshardsBetweenDataParallelSizes() {
        Map<String, String> base = Map.of("run.elastic", "true", "checkpoint.every", "5", "run.max_restarts", "2", "parallel.dp", "2");
        assertThatThrownBy(() -> TrainConfig.load(null, with(base, "run.max_restarts", "0")))
                .hasMessageContaining("run.elastic shrinks the job when it restarts: set run.max_restarts > 0");
        assertThatThrownBy(() -> TrainConfig.load(null, with(with(base, "parallel.islands", "2"), "parallel.outer", "diloco")))
                .hasMessageContaining("run.elastic gives up data-parallel replicas (with their tensor-parallel ranks and pipeline stages), "
                        + "not yet islands");
        assertThatThrownBy(() -> TrainConfig.load(null, with(base, "parallel.cp", "2"))).hasMessageContaining("context parallelism");
        assertThat(TrainConfig.load(null, with(with(base, "parallel.tp", "2"), "parallel.pp", "2")).run().elastic()).isTrue();
        // refused before the first start; a restart shrunk to one replica still loads
        assertThatThrownBy(() -> dev.tandem.api.Training.builder().set(with(base, "parallel.dp", "1")).build().elastic())
                .hasMessageContaining("run.elastic needs parallel.dp >= 2");
        assertThat(TrainConfig.load(null, with(base, "parallel.dp", "1")).run().elastic()).isTrue();
        assertThatThrownBy(() -> TrainConfig.load(null, with(base, "optim.name", "adamw8bit")))
                .hasMessageContaining("8-bit states cannot be");
        assertThat(TrainConfig.load(null, base).run().elastic()).isTrue();
    }

    private static Map<String, String> with(Map<String, String> base, String key, String value) {
        Map<String, String> m = new java.util.HashMap<>(base);
        m.put(key, value);
        return m;
    }
}
