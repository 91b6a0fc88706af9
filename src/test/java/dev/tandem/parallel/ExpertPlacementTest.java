package dev.tandem.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The FSSDP placement: owners first, replicas for hot experts only, an even split of an expert's rows among its holders. */
class ExpertPlacementTest {
    private static double maxOverMean(double[] load, ExpertPlacement p) {
        double[] r = ExpertPlacement.rankLoads(load, p.holders(), p.ranks());
        double max = 0, sum = 0;
        for (double x : r) {
            max = Math.max(max, x);
            sum += x;
        }
        return max * r.length / sum;
    }

    @Test
    void ownersAreContiguousBlocks() {
        ExpertPlacement p = ExpertPlacement.owners(8, 4);
        assertThat(p.holders()).isDeepEqualTo(new int[][] {{0}, {0}, {1}, {1}, {2}, {2}, {3}, {3}});
        assertThat(p.replicas()).isZero();
    }

    @Test
    void balancedLoadsReplicateNothing() {
        double[] load = {10, 10, 10, 10, 10, 10, 10, 10};
        assertThat(ExpertPlacement.balanced(load, 4, 2, 1.05).replicas()).isZero();
    }

    @Test
    void skewedLoadsReplicateTheHotExpertsAndLowerTheBusiestRank() {
        double[] load = {400, 200, 130, 100, 80, 60, 20, 10}; // zipf-like
        ExpertPlacement p0 = ExpertPlacement.owners(8, 4), p1 = ExpertPlacement.balanced(load, 4, 2, 1.05);
        assertThat(maxOverMean(load, p0)).isCloseTo(600 * 4 / 1000.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(p1.replicas()).isPositive();
        assertThat(maxOverMean(load, p1)).isLessThan(maxOverMean(load, p0) * 0.7);
        assertThat(p1.holders()[0][0]).as("the owner stays first").isZero();
        assertThat(p1.holders()[0].length).as("the hottest expert has replicas").isGreaterThan(1);
        for (int[] h : p1.holders()) assertThat(h).doesNotHaveDuplicates();
        // deterministic: every rank computes the same placement
        assertThat(ExpertPlacement.balanced(load, 4, 2, 1.05).holders()).isDeepEqualTo(p1.holders());
    }

    @Test
    void replicaRoomPerRankIsRespected() {
        double[] load = {1000, 1, 1, 1, 1, 1, 1, 1};
        ExpertPlacement p = ExpertPlacement.balanced(load, 4, 1, 1.0);
        int[] extra = new int[4];
        for (int[] h : p.holders()) for (int j = 1; j < h.length; j++) extra[h[j]]++;
        for (int x : extra) assertThat(x).isLessThanOrEqualTo(1);
        assertThat(p.holders()[0]).hasSize(4);
    }

    @Test
    void rowsOfAnExpertSplitEvenlyAmongItsHolders() {
        ExpertPlacement p = new ExpertPlacement(4, new int[][] {{0, 2, 3}, {1}});
        assertThat(p.split(0, 10)).containsExactly(4, 3, 3);
        assertThat(p.split(1, 5)).containsExactly(5);
        assertThat(p.split(0, 0)).containsExactly(0, 0, 0);
    }
}
