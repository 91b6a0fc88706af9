package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InRunSlowdownTest {
    /** Steps of 100 ms; the saving step costs 30 ms more and the next one 20 ms more (the copy, the writing). */
    private static List<Double> runSavingEvery(int interval, int steps) {
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            double t = 100;
            if ((i + 1) % interval == 0) t += 30;
            if (i > 0 && i % interval == 0) t += 20;
            ms.add(t);
        }
        return ms;
    }

    @Test
    void pairsTheBlockFromEachSaveWithTheBlockBeforeIt() {
        List<InRunSlowdown.Pair> pairs = InRunSlowdown.pairs(runSavingEvery(20, 100), 5, 10);
        // saves after steps 19, 39, 59, 79 (0-based); 99 has no room for its block after
        assertThat(pairs).extracting(InRunSlowdown.Pair::saveStep).containsExactly(19, 39, 59, 79);
        for (InRunSlowdown.Pair p : pairs) {
            assertThat(p.afterMs()).isEqualTo(1050.0); // 10 steps, the save (+30) and the step after it (+20)
            assertThat(p.beforeMs()).isEqualTo(1000.0);
        }
        // Saving every 10 steps would cost 50 ms per 1000 ms: 5 %.
        assertThat(InRunSlowdown.pooled(pairs)).isCloseTo(0.05, within(1e-12));
    }

    @Test
    void skipsPairsThatReachIntoTheWarmUp() {
        assertThat(InRunSlowdown.pairs(runSavingEvery(4, 12), 1, 2)).extracting(InRunSlowdown.Pair::saveStep).containsExactly(3, 7);
        assertThat(InRunSlowdown.pairs(runSavingEvery(4, 12), 2, 2)).extracting(InRunSlowdown.Pair::saveStep).containsExactly(7); // 11 has no room after it
    }

    @Test
    void aRunWithoutCostsShowsNoSlowdown() {
        List<Double> flat = new ArrayList<>();
        for (int i = 0; i < 60; i++) flat.add(100.0);
        assertThat(InRunSlowdown.pooled(InRunSlowdown.pairs(flat, 5, 10))).isZero();
    }
}
