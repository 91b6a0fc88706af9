package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.comm.health.SlowRankDetector.SlowRank;
import dev.tandem.train.config.TrainConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When a slow rank is left out, how the verdict travels to the launcher, and which rank a slow place is after a restart. */
class SlowRankEvictionTest {
    @TempDir Path run;

    @Test
    void aRankIsLeftOutOnceItHasStayedFlaggedForTheStepsAsked() {
        SlowRankEviction eviction = new SlowRankEviction(5);
        SlowRank two = new SlowRank(2, 1.6, 12.0, 3), one = new SlowRank(1, 2.0, 20.0, 10);
        assertThat(eviction.observe(List.of(two), 22)).as("flagged at 22, evidence from step 3").isEmpty();
        assertThat(eviction.observe(List.of(two, one), 25)).isEmpty();
        assertThat(eviction.observe(List.of(one), 26)).as("rank 2 recovered: its count starts again").isEmpty();
        assertThat(eviction.observe(List.of(one, two), 29)).isEmpty();
        assertThat(eviction.observe(List.of(one, two), 30)).hasValueSatisfying(v -> {
            assertThat(v.rank()).isEqualTo(1);
            assertThat(v.sinceStep()).isEqualTo(10);
            assertThat(v.step()).isEqualTo(30);
        });
        assertThat(eviction.observe(List.of(two), 34)).contains(new SlowRankEviction.Verdict(2, 1.6, 3, 34));
        assertThat(new SlowRankEviction(1).observe(List.of(), 100)).isEmpty();
    }

    @Test
    void theVerdictIsWrittenOnceReadOnceAndEveryRankExitsWithTheEvictionCode() {
        var v = new SlowRankEviction.Verdict(2, 1.55, 30, 50);
        TandemException onRank1 = SlowRankEviction.stop(v, run, false);
        assertThat(SlowRankEviction.take(run)).isEmpty();
        TandemException onRank0 = SlowRankEviction.stop(v, run, true);
        assertThat(onRank0.exitCode()).isEqualTo(onRank1.exitCode()).isEqualTo(SlowRankEviction.EXIT_CODE);
        assertThat(onRank0.getMessage()).startsWith("rank 2 was 1.55x slower than its peers from step 30 to step 50");
        assertThat(SlowRankEviction.take(run)).contains(v);
        assertThat(SlowRankEviction.take(run)).isEmpty();
    }

    @Test
    void theDrillFollowsItsPlaceNotItsRankNumber() {
        assertThat(FaultDrill.fromEnvironment(Map.of("TANDEM_DRILL_SLOW", "2:1.5")).rank()).as("first attempt: place = rank").isEqualTo(2);
        Map<String, String> after = Map.of("TANDEM_DRILL_SLOW", "2:1.5", "TANDEM_PLACES", "0,2");
        assertThat(FaultDrill.fromEnvironment(after).rank()).as("place 2 runs rank 1 now").isEqualTo(1);
        Map<String, String> leftOut = Map.of("TANDEM_DRILL_SLOW", "1:1.5", "TANDEM_PLACES", "0,2");
        assertThat(FaultDrill.fromEnvironment(leftOut).slows(0)).isFalse();
        assertThat(FaultDrill.fromEnvironment(leftOut).slows(1)).isFalse();
        assertThatThrownBy(() -> FaultDrill.fromEnvironment(Map.of("TANDEM_DRILL_SLOW", "x"))).hasMessageContaining("<place>:<slowdown>");
    }

    @Test
    void leavingSlowRanksOutNeedsAnElasticJob() {
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("run.evict_slow_after", "20")))
                .isInstanceOf(TandemException.class).hasMessageContaining("set run.elastic = true");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("run.evict_slow_after", "-1")))
                .isInstanceOf(TandemException.class).hasMessageContaining("run.evict_slow_after must be >= 0");
        TrainConfig ok = TrainConfig.load(null, Map.of("run.evict_slow_after", "20", "run.elastic", "true", "run.max_restarts", "1",
                "checkpoint.every", "10", "parallel.dp", "2", "data.batch_size", "8"));
        assertThat(ok.run().evictSlowAfter()).isEqualTo(20);
    }
}
