package dev.tandem.train.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.plan.OuterSpec;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Islands and the outer algorithm as [parallel] keys: overrides reach the plan, and bad ones name the key. */
class IslandConfigTest {
    @Test
    void overridesSetIslandsTheOuterAlgorithmAndTheLink() {
        TrainConfig c = TrainConfig.load(null, Map.of("parallel.dp", "2", "parallel.islands", "2", "parallel.outer", "noloco",
                "parallel.outer_steps", "20", "parallel.link_bandwidth", "100Mbit", "parallel.link_latency", "10ms"));
        assertThat(c.parallel().worldSize()).isEqualTo(4);
        assertThat(c.parallel().outer().algorithm()).isEqualTo(OuterSpec.Algorithm.NOLOCO);
        assertThat(c.parallel().outer().steps()).isEqualTo(20);
        assertThat(c.parallel().outer().link().bitsPerSecond()).isEqualTo(100e6);
        // The config file form reads back to the same plan.
        assertThat(TrainConfig.load(null, Map.of("parallel.plan", c.parallel().label())).parallel()).isEqualTo(c.parallel());
        assertThat(c.toToml()).contains("islands = 2").contains("outer = \"noloco\"");
    }

    @Test
    void anOddNumberOfNoLoCoIslandsIsRefusedWithTheFix() {
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("parallel.islands", "3", "parallel.outer", "noloco")))
                .isInstanceOf(TandemException.class).hasMessageContaining("[parallel]").hasMessageContaining("even");
    }
}
