package dev.tandem.parallel.context;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.nn.GPTConfig;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The balance scheduler: every sequence placed once on the right number of ranks, and how close to the optimum it gets. */
class BalanceSchedulerTest {
    private static final SequenceCost COST = SequenceCost.of(new GPTConfig(12, 12, 768, 50257, 32768));

    /** Long-tailed lengths: most under 512 tokens, one in twenty of 8–32K (as in the longctx bench). */
    static int[] longTailed(long seed, int n) {
        SplittableRandom rng = new SplittableRandom(seed);
        return IntStream.range(0, n).map(i -> rng.nextInt(20) == 0 ? 8192 + rng.nextInt(24577) : 16 + (int) Math.min(4000, -200 * Math.log(rng.nextDouble())))
                .toArray();
    }

    @Test
    void everySequenceExactlyOnceOnAsManyRanksAsItNeeds() {
        for (long seed = 1; seed <= 20; seed++) {
            int[] lengths = longTailed(seed, 64);
            int capacity = 8192, ranks = 4;
            for (StepSchedule s : new StepSchedule[] {BalanceScheduler.hybrid(lengths, ranks, capacity, COST),
                    BalanceScheduler.padded(lengths, ranks, 4), BalanceScheduler.staticContext(lengths, ranks, 4, capacity)}) {
                int[] seen = new int[lengths.length];
                for (Placement p : s.placements()) for (int q : p.sequences()) seen[q]++;
                assertThat(seen).as("seed %d, %s", seed, s.placements()).containsOnly(1);
            }
            for (Placement p : BalanceScheduler.hybrid(lengths, ranks, capacity, COST).placements()) {
                int tokens = Arrays.stream(p.sequences()).map(q -> lengths[q]).sum();
                if (p.layout() == Placement.Layout.RING) {
                    assertThat(p.ranks()).hasSize((tokens + capacity - 1) / capacity).doesNotHaveDuplicates();
                    assertThat(tokens).isGreaterThan(capacity);
                } else {
                    assertThat(tokens).as("a packed micro-batch holds at most the capacity").isLessThanOrEqualTo(capacity);
                }
            }
        }
    }

    /**
     * On long-tailed mixes of 256 sequences over 4 and 8 ranks the busiest rank's estimated cost is
     * within 5% of a lower bound on the optimum, max(mean load, largest share of one sequence),
     * hence within 5% of the optimum.
     */
    @Test
    void withinFivePercentOfTheOptimumOnLongTailedMixes() {
        for (int ranks : new int[] {4, 8}) {
            for (long seed = 1; seed <= 10; seed++) {
                int[] lengths = longTailed(seed, 256);
                int capacity = 32768 / 4;
                StepSchedule s = BalanceScheduler.hybrid(lengths, ranks, capacity, COST);
                double[] load = s.loads(lengths, COST);
                double mean = Arrays.stream(load).sum() / ranks, largestShare = 0;
                for (int l : lengths) largestShare = Math.max(largestShare, COST.of(l) / ((l + capacity - 1) / capacity));
                double bound = Math.max(mean, largestShare);
                assertThat(Arrays.stream(load).max().orElseThrow() / bound).as("ranks %d, seed %d", ranks, seed).isLessThan(1.05);
            }
        }
    }

    /**
     * Short sequences only (one rank each), small enough to search every assignment: the schedule's
     * busiest rank is within Graham's 4/3 bound of the exact optimum, and its imbalance is what
     * the loads say.
     */
    @Test
    void withinFourThirdsOfTheExactOptimumOnSmallMixes() {
        int ranks = 3;
        for (long seed = 1; seed <= 30; seed++) {
            SplittableRandom rng = new SplittableRandom(seed);
            int[] lengths = IntStream.range(0, 7).map(i -> 1 + rng.nextInt(2000)).toArray();
            double best = optimum(lengths, ranks);
            double[] load = BalanceScheduler.hybrid(lengths, ranks, 4096, COST).loads(lengths, COST);
            assertThat(Arrays.stream(load).max().orElseThrow()).as("seed %d", seed).isLessThanOrEqualTo(4.0 / 3 * best * (1 + 1e-12));
        }
    }

    /** The best busiest-rank cost over every assignment of the sequences to ranks. */
    private static double optimum(int[] lengths, int ranks) {
        double best = Double.MAX_VALUE;
        int n = lengths.length, combos = (int) Math.pow(ranks, n);
        for (int code = 0; code < combos; code++) {
            double[] load = new double[ranks];
            int c = code;
            for (int s = 0; s < n; s++) {
                load[c % ranks] += COST.of(lengths[s]);
                c /= ranks;
            }
            best = Math.min(best, Arrays.stream(load).max().orElseThrow());
        }
        return best;
    }

    /** Cost, not tokens: one 4K sequence outweighs eight 512-token ones because attention grows as L². */
    @Test
    void balancesComputeNotTokens() {
        SequenceCost attentionHeavy = new SequenceCost(1, 1);
        int[] lengths = {4096, 512, 512, 512, 512, 512, 512, 512, 512};
        StepSchedule s = BalanceScheduler.hybrid(lengths, 2, 4096, attentionHeavy);
        assertThat(s.of(0).stream().flatMapToInt(p -> Arrays.stream(p.sequences())).toArray()).containsExactly(0);
        assertThat(s.of(1)).hasSize(1); // the eight short ones packed into one micro-batch of 4096 tokens
    }

    @Test
    void badInputIsRefusedWithTheFix() {
        assertThatThrownBy(() -> BalanceScheduler.hybrid(new int[] {5, 0}, 4, 16, COST)).hasMessageContaining("sequence 1 is empty");
        assertThatThrownBy(() -> BalanceScheduler.hybrid(new int[] {65}, 4, 16, COST))
                .hasMessageContaining("65 tokens but 4 ranks of 16 tokens hold at most 64").hasMessageContaining("cp");
        assertThatThrownBy(() -> BalanceScheduler.staticContext(new int[] {5}, 4, 4, 16)).hasMessageContaining("use hybrid balancing");
        assertThatThrownBy(() -> BalanceScheduler.staticContext(new int[] {50}, 4, 3, 16)).hasMessageContaining("cp = 3 must divide the 4 ranks");
    }
}
