package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;

class InRunSlowdownTest {
    private static List<Double> steps(int n, IntToDoubleFunction ms) {
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(ms.applyAsDouble(i));
        return out;
    }

    @Test
    void savesOncePerCycleInTheFirstSecondSecondFirstHalf() {
        // cycles of 10 steps from step 5: 5-14 (first half saves), 15-24 (second), 25-34 (second), 35-44 (first);
        // 45-54 would reach the last step (49), where the trainer saves anyway
        assertThat(InRunSlowdown.saveSteps(50, 5, 5)).containsExactly(5, 20, 30, 35);
        assertThat(InRunSlowdown.ckptSteps(50, 5, 5)).isEqualTo("6,21,31,36");
        assertThat(InRunSlowdown.saveSteps(14, 3, 5)).containsExactly(3); // steps 3-12, then the last step
        assertThat(InRunSlowdown.saveSteps(13, 3, 5)).isEmpty();
    }

    @Test
    void pairsEachSaveBlockWithTheCleanHalfOfItsCycle() {
        List<Integer> saves = InRunSlowdown.saveSteps(100, 5, 10);
        // Steps of 100 ms; the saving step costs 30 ms more and the next one 20 ms more (the copy, the writing).
        List<Double> ms = steps(100, i -> 100 + (saves.contains(i) ? 30 : 0) + (saves.contains(i - 1) ? 20 : 0));
        List<InRunSlowdown.Pair> pairs = InRunSlowdown.pairs(ms, 5, 10);
        assertThat(pairs).extracting(InRunSlowdown.Pair::saveStep).containsExactly(5, 35, 55, 65);
        for (InRunSlowdown.Pair p : pairs) {
            assertThat(p.saveBlockMs()).isEqualTo(1050.0);
            assertThat(p.cleanBlockMs()).isEqualTo(1000.0);
        }
        // Saving every 10 steps would cost 50 ms per 1000 ms: 5 %.
        assertThat(InRunSlowdown.pooled(pairs)).isCloseTo(0.05, within(1e-12));
    }

    @Test
    void aBiasTiedToThePositionInTheCycleCancels() {
        // Without checkpoints, the second half of every 20-step cycle runs 2 % slower.
        List<Double> ms = steps(5 + 80 + 1, i -> (i - 5) % 20 >= 10 ? 102 : 100);
        List<InRunSlowdown.Pair> pairs = InRunSlowdown.pairs(ms, 5, 10);
        assertThat(pairs).hasSize(4);
        assertThat(pairs.getFirst().slowdown()).isCloseTo(-0.02 / 1.02, within(1e-12)); // one cycle alone is biased
        assertThat(InRunSlowdown.pooled(pairs)).isCloseTo(0, within(1e-12));
    }

    @Test
    void aLinearDriftCancelsOverFourCycles() {
        List<Double> ms = steps(5 + 80 + 1, i -> 400 - 0.5 * i); // the run speeds up by 0.5 ms per step
        assertThat(InRunSlowdown.pooled(InRunSlowdown.pairs(ms, 5, 10))).isCloseTo(0, within(1e-12));
    }

    @Test
    void theIntervalCoversThePooledSlowdownAndShrinksToItWithoutScatter() {
        List<InRunSlowdown.Pair> same = List.of(new InRunSlowdown.Pair(0, 1030, 1000), new InRunSlowdown.Pair(20, 1030, 1000));
        assertThat(InRunSlowdown.interval(same)).containsExactly(new double[] {0.03, 0.03}, within(1e-12));
        List<InRunSlowdown.Pair> scattered = new ArrayList<>();
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(1);
        for (int i = 0; i < 40; i++) scattered.add(new InRunSlowdown.Pair(20 * i, 1020 + 150 * rnd.nextGaussian(), 1000));
        double[] ci = InRunSlowdown.interval(scattered);
        double pooled = InRunSlowdown.pooled(scattered);
        assertThat(ci[0]).isLessThan(pooled);
        assertThat(ci[1]).isGreaterThan(pooled);
        // about 1.96 standard errors each side: 15 % per pair over 40 pairs is ±4.6 %
        assertThat(ci[1] - ci[0]).isBetween(0.06, 0.12);
        assertThat(InRunSlowdown.interval(scattered)).containsExactly(ci); // the same pairs, the same interval
    }
}
