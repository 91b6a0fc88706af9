package dev.tandem.train.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.plan.MoeShape;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the planner sees of a training config: the experts it prices, the attention it refuses. */
class PlannerViewTest {
    @Test
    void aConfigsExpertsReachThePlanner() {
        TrainConfig c = TrainConfig.load(null, Map.of("model.n_experts", "4", "model.top_k", "2", "model.moe_every", "2"));
        assertThat(c.modelSpec(100).moe()).isEqualTo(new MoeShape(4, 2, 1.25, 2));
        assertThat(TrainConfig.load(null, Map.of()).modelSpec(100).moe().sparse()).isFalse();
    }

    @Test
    void flashAttentionRunsAsTheRuntimesSelectiveRecompute() {
        assertThat(TrainConfig.load(null, Map.of("parallel.plan", "attention=flash recompute=selective")).parallel().attention())
                .isEqualTo(dev.tandem.plan.AttentionKernel.FLASH);
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("parallel.plan", "attention=flash recompute=none")))
                .hasMessageContaining("set recompute = selective");
    }
}
