package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Hot tensors always fast, warm ones fast while there is room (smallest first), and a refusal that names the smallest budget. */
class TierPlacementTest {
    private static final long MIB = 1 << 20;

    private static Map<String, Long> hot(long params, long grads) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("parameters", params);
        m.put("gradients", grads);
        return m;
    }

    @Test
    void everythingFastWhenItFitsOrWithoutABudget() {
        TierPlacement p = TierPlacement.place(100 * MIB, hot(10 * MIB, 10 * MIB), new long[] {30 * MIB, 40 * MIB}, 8 * MIB, true);
        assertThat(p.resident()).containsExactly(true, true);
        assertThat(p.slowBytes()).isZero();
        assertThat(p.fastBytes()).isEqualTo(90 * MIB); // no staging when nothing moves
        assertThat(TierPlacement.place(0, hot(10 * MIB, 10 * MIB), new long[] {900 * MIB}, 8 * MIB, false).resident()).containsExactly(true);
    }

    @Test
    void warmTensorsFillTheRoomLeftSmallestFirst() {
        // 100 MiB: 20 hot + 8 staging leaves 72: the 1 and 30 MiB tensors stay, 50 goes, and 45 does not fit after them.
        TierPlacement p = TierPlacement.place(100 * MIB, hot(10 * MIB, 10 * MIB), new long[] {50 * MIB, 1 * MIB, 45 * MIB, 30 * MIB},
                8 * MIB, true);
        assertThat(p.resident()).containsExactly(false, true, false, true);
        assertThat(p.fastBytes()).isEqualTo((20 + 8 + 1 + 30) * MIB);
        assertThat(p.slowBytes()).isEqualTo(95 * MIB);
    }

    @Test
    void aBudgetTooSmallNamesWhatDoesNotFitAndTheSmallestThatWould() {
        assertThatThrownBy(() -> TierPlacement.place(20 * MIB, hot(10 * MIB, 10 * MIB), new long[] {40 * MIB}, 8 * MIB, true))
                .isInstanceOf(PlanInputException.class)
                .hasMessageContaining("memory.budget 20.0 MiB is too small even with the optimizer state offloaded")
                .hasMessageContaining("parameters 10.0 MiB, gradients 10.0 MiB")
                .hasMessageContaining("the smallest budget that fits is 28.0 MiB");
        assertThatThrownBy(() -> TierPlacement.place(50 * MIB, hot(10 * MIB, 10 * MIB), new long[] {40 * MIB}, 8 * MIB, false))
                .hasMessageContaining("optimizer state 40.0 MiB must all be in the fast tier without offload")
                .hasMessageContaining("the smallest budget that fits is 60.0 MiB, or set parallel.offload = optimizer (then the smallest is 28.0 MiB)");
    }
}
