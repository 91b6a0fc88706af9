package dev.tandem.comm.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.comm.health.SlowRankDetector.SlowRank;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Fail-slow detection on synthetic traces: ranks do {@code busy} ms of work per step, then meet in
 * collectives that end when the last one arrives, so each rank's time inside them is the slowest
 * rank's busy time minus its own, plus the transfer.
 */
class SlowRankDetectorTest {
    private static final double TRANSFER_MS = 2;

    /** One step of synchronous training: {@code busy[r]} ms of work, then collectives. */
    private static List<SlowRank> step(SlowRankDetector d, long step, double[] busy, int[] stageOf) {
        int n = busy.length;
        double[] window = new double[n], inOps = new double[n];
        for (int r = 0; r < n; r++) {
            double slowest = 0;
            for (int q = 0; q < n; q++) if (stageOf[q] == stageOf[r]) slowest = Math.max(slowest, busy[q]);
            inOps[r] = slowest - busy[r] + TRANSFER_MS;
            window[r] = busy[r] + inOps[r];
        }
        return d.observe(step, window, inOps);
    }

    private static double[] noisyBusy(SplittableRandom rnd, int n, double base, double noise) {
        double[] b = new double[n];
        for (int r = 0; r < n; r++) b[r] = base * (1 + noise * (rnd.nextDouble() * 2 - 1));
        return b;
    }

    @Test
    void aRankOneAndAHalfTimesSlowerIsFlaggedWithinTheWindowWithItsSlowdownAndStart() {
        int[] stageOf = {0, 0, 0, 0};
        SlowRankDetector d = SlowRankDetector.withDefaults(stageOf);
        SplittableRandom rnd = new SplittableRandom(7);
        long flaggedAt = -1;
        SlowRank seen = null;
        for (long s = 1; s <= 60; s++) {
            double[] busy = noisyBusy(rnd, 4, 10, 0.05);
            if (s >= 11) busy[2] *= 1.5; // slow from step 11 on
            List<SlowRank> f = step(d, s, busy, stageOf);
            if (!f.isEmpty() && flaggedAt < 0) flaggedAt = s;
            if (!f.isEmpty()) seen = f.getFirst();
        }
        assertThat(flaggedAt).as("flagged within 20 steps of becoming slow").isBetween(11L, 31L);
        assertThat(seen.rank()).isEqualTo(2);
        assertThat(seen.slowdown()).isCloseTo(1.5, within(0.12));
        assertThat(seen.extraMs()).isCloseTo(5, within(1.0));
        assertThat(seen.sinceStep()).isEqualTo(11);
    }

    @Test
    void noiseAloneFlagsNobodyOverAThousandSteps() {
        for (int n : new int[] {2, 4, 8}) {
            int[] stageOf = new int[n];
            SlowRankDetector d = SlowRankDetector.withDefaults(stageOf);
            SplittableRandom rnd = new SplittableRandom(n);
            for (long s = 1; s <= 1000; s++) {
                assertThat(step(d, s, noisyBusy(rnd, n, 10, 0.2), stageOf)).as("%d ranks, step %d", n, s).isEmpty();
            }
        }
    }

    @Test
    void aRankThatIsLastNowAndThenIsNotFlagged() {
        int[] stageOf = {0, 0};
        SlowRankDetector d = SlowRankDetector.withDefaults(stageOf);
        SplittableRandom rnd = new SplittableRandom(3);
        for (long s = 1; s <= 300; s++) {
            double[] busy = noisyBusy(rnd, 2, 10, 0.02);
            if (s % 3 == 0) busy[1] *= 2; // a garbage collection every third step: last 1/3 + 1/2·2/3 of the time
            assertThat(step(d, s, busy, stageOf)).isEmpty();
        }
    }

    @Test
    void ranksAreComparedWithinTheirPipelineStageOnly() {
        // stage 1 does twice the work of stage 0 (a heavier last stage); inside stage 1, rank 3 is 1.5x slow
        int[] stageOf = {0, 0, 1, 1};
        SlowRankDetector d = SlowRankDetector.withDefaults(stageOf);
        SplittableRandom rnd = new SplittableRandom(11);
        List<SlowRank> last = List.of();
        for (long s = 1; s <= 40; s++) {
            double[] busy = noisyBusy(rnd, 4, 10, 0.05);
            busy[2] *= 2;
            busy[3] *= 3;
            last = step(d, s, busy, stageOf);
        }
        assertThat(last).singleElement().satisfies(f -> {
            assertThat(f.rank()).isEqualTo(3);
            assertThat(f.slowdown()).isCloseTo(1.5, within(0.12));
        });
    }

    @Test
    void theFlagClearsWhenTheRankRecoversAndASecondEpisodeStartsAfresh() {
        int[] stageOf = {0, 0, 0};
        SlowRankDetector d = SlowRankDetector.withDefaults(stageOf);
        SplittableRandom rnd = new SplittableRandom(5);
        long clearedAt = -1;
        SlowRank second = null;
        for (long s = 1; s <= 200; s++) {
            double[] busy = noisyBusy(rnd, 3, 10, 0.05);
            boolean slow = s <= 50 || s > 120;
            if (slow) busy[0] *= 2;
            List<SlowRank> f = step(d, s, busy, stageOf);
            if (s > 50 && f.isEmpty() && clearedAt < 0) clearedAt = s;
            if (s > 120 && !f.isEmpty()) second = f.getFirst();
        }
        assertThat(clearedAt).as("cleared once the evidence has aged out of the window").isBetween(51L, 71L);
        assertThat(second.rank()).isZero();
        assertThat(second.sinceStep()).as("a chance 'last' just before may count").isBetween(117L, 121L);
    }

    @Test
    void binomialTailMatchesHandValues() {
        assertThat(SlowRankDetector.binomialTail(2, 2, 0.5)).isCloseTo(0.25, within(1e-12));
        assertThat(SlowRankDetector.binomialTail(3, 2, 0.5)).isCloseTo(0.5, within(1e-12)); // (3 + 1) / 8
        assertThat(SlowRankDetector.binomialTail(4, 0, 0.3)).isCloseTo(1, within(1e-12));
        assertThat(SlowRankDetector.binomialTail(20, 19, 0.5)).isCloseTo(21.0 / (1 << 20), within(1e-15));
    }
}
