package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.TandemException;
import org.junit.jupiter.api.Test;

/** Router arithmetic against values worked out by hand (logits chosen so the softmax is exact fractions). */
class RoutingTest {
    private static final float L2 = (float) Math.log(2), L3 = (float) Math.log(3), L4 = (float) Math.log(4);

    private static MoEConfig cfg(int experts, int k, double capacityFactor, boolean dropless) {
        return new MoEConfig(experts, k, capacityFactor, dropless, 1, 0.01, 0.001);
    }

    // Four tokens over three experts: probabilities [1/5 3/5 1/5], [1/3 1/3 1/3] (a tie),
    // [1/2 1/4 1/4], [1/6 4/6 1/6].
    private static final float[] TOP1 = {0, L3, 0, 0, 0, 0, L2, 0, 0, 0, L4, 0};

    @Test
    void top1ChoosesTheMostProbableExpertAndTheLowerIndexOnATie() {
        Routing r = Routing.of(TOP1, 4, cfg(3, 1, 1.0, false));
        assertThat(r.expert()).containsExactly(1, 0, 0, 1);
        assertThat(r.gate()[0]).isCloseTo(0.6f, offset(1e-6f));
        assertThat(r.gate()[1]).isCloseTo(1 / 3f, offset(1e-6f));
        assertThat(r.chosen()).containsExactly(2, 2, 0);
        // capacity ⌈1.0·4·1/3⌉ = 2: nothing dropped; rows packed by expert, in token order within one
        assertThat(r.dropped()).isZero();
        assertThat(r.counts()).containsExactly(2, 2, 0);
        assertThat(r.row()).containsExactly(2, 0, 1, 3);
    }

    @Test
    void capacityDropsTheLaterTokensOfAFullExpert() {
        Routing r = Routing.of(TOP1, 4, cfg(3, 1, 0.5, false)); // capacity ⌈0.5·4/3⌉ = 1
        assertThat(r.counts()).containsExactly(1, 1, 0);
        assertThat(r.chosen()).containsExactly(2, 2, 0);
        assertThat(r.dropped()).isEqualTo(2);
        assertThat(r.row()).containsExactly(1, 0, -1, -1);
    }

    @Test
    void droplessKeepsEveryAssignmentWhateverTheCapacityFactor() {
        Routing r = Routing.of(TOP1, 4, cfg(3, 1, 0.01, true));
        assertThat(r.dropped()).isZero();
        assertThat(r.counts()).containsExactly(2, 2, 0);
    }

    @Test
    void auxAndZLossesMatchTheSwitchAndStMoeFormulas() {
        Routing r = Routing.of(TOP1, 4, cfg(3, 1, 1.0, false));
        // f = [2/4, 2/4, 0]; P0 = (1/5 + 1/3 + 1/2 + 1/6)/4 = 0.3, P1 = (3/5 + 1/3 + 1/4 + 4/6)/4 = 0.4625
        assertThat(r.auxLoss()).isCloseTo(3 * (0.5 * 0.3 + 0.5 * 0.4625), offset(1e-6));
        double z = (sq(Math.log(5)) + sq(Math.log(3)) + sq(Math.log(4)) + sq(Math.log(6))) / 4;
        assertThat(r.zLoss()).isCloseTo(z, offset(1e-6));
    }

    @Test
    void perfectlyBalancedRoutingHasAuxLossOne() {
        float[] logits = {5, 0, 0, 5}; // two tokens, two experts, each token sure of a different expert
        Routing r = Routing.of(logits, 2, cfg(2, 1, 1.0, false));
        assertThat(r.auxLoss()).isCloseTo(1.0, offset(1e-6));
    }

    @Test
    void top2RenormalisesTheTwoGatesAndFillsSecondChoicesAfterAllFirstChoices() {
        // token 0: [1/6 3/6 2/6] → experts 1 then 2; token 1: a three-way tie → experts 0 then 1
        float[] logits = {0, L3, L2, 0, 0, 0};
        Routing r = Routing.of(logits, 2, cfg(3, 2, 0.5, false)); // capacity ⌈0.5·2·2/3⌉ = 1
        assertThat(r.expert()).containsExactly(1, 2, 0, 1);
        assertThat(r.gate()[0]).isCloseTo(0.6f, offset(1e-6f));
        assertThat(r.gate()[1]).isCloseTo(0.4f, offset(1e-6f));
        assertThat(r.gate()[2]).isCloseTo(0.5f, offset(1e-6f));
        // first choices take expert 1's one slot before token 1's second choice asks for it
        assertThat(r.row()).containsExactly(1, 2, 0, -1);
        assertThat(r.dropped()).isEqualTo(1);
        // f = [1/4, 2/4, 1/4] (chosen, before dropping); P = [(1/6+1/3)/2, (1/2+1/3)/2, (1/3+1/3)/2]
        double aux = 3 * (0.25 * 0.25 + 0.5 * (5 / 12.0) + 0.25 * (1 / 3.0));
        assertThat(r.auxLoss()).isCloseTo(aux, offset(1e-6));
    }

    @Test
    void badShapesAreRefusedWithTheKeyToChange() {
        assertThatThrownBy(() -> cfg(2, 3, 1.0, false)).isInstanceOf(TandemException.class).hasMessageContaining("top_k must be 1 or 2");
        assertThatThrownBy(() -> cfg(1, 2, 1.0, false)).isInstanceOf(TandemException.class)
                .hasMessageContaining("top_k = 2 is more than model.n_experts = 1");
        assertThatThrownBy(() -> cfg(4, 1, 0, false)).isInstanceOf(TandemException.class)
                .hasMessageContaining("capacity_factor must be > 0").hasMessageContaining("dropless");
        assertThatThrownBy(() -> cfg(4, 1, -1, false)).isInstanceOf(TandemException.class);
        assertThat(cfg(4, 1, 0, true).dropless()).isTrue();
    }

    private static double sq(double x) {
        return x * x;
    }
}
