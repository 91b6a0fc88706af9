package dev.tandem.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.train.TrainConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Options that do not compose are refused when the plan is built, with a message naming the keys. */
class PlanTest {
    private static Plan plan(Map<String, String> keys) {
        return TrainConfig.load(null, keys).parallelPlan();
    }

    @Test
    void theKeysBecomeOnePlan() {
        Plan p = plan(Map.of("nproc", "8", "tp", "2", "pp", "2", "zero", "1", "micro_batches", "4", "pp_schedule", "interleaved",
                "virtual_stages", "2", "pp_layers", "1,1,1,1", "sequence_parallel", "true", "recompute", "full"));
        assertThat(p.dp()).isEqualTo(2);
        assertThat(p.worldSize()).isEqualTo(8);
        assertThat(p.stageLayers()).containsExactly(1, 1, 1, 1);
        assertThat(p.rowsPerMicroBatch(16)).isEqualTo(2);
    }

    @Test
    void aPlannerLabelBecomesThePlan() {
        Plan p = plan(Map.of("nproc", "4", "plan", "tp=2 pp=1 dp=2 mb=4 v=1 zero=2 recompute=selective sp=on offload=off"));
        assertThat(List.of(p.dp(), p.tp(), p.pp(), p.zeroStage(), p.microBatches())).containsExactly(2, 2, 1, 2, 2);
        assertThat(p.sequenceParallel()).isTrue();
        assertThat(p.recompute()).isEqualTo("selective");
    }

    @Test
    void optionsThatDoNotComposeAreRefusedByName() {
        assertThatThrownBy(() -> plan(Map.of("sequence_parallel", "true"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("sequence_parallel needs tp > 1");
        assertThatThrownBy(() -> plan(Map.of("nproc", "2", "pp", "2", "pp_schedule", "interleaved"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("virtual_stages");
        assertThatThrownBy(() -> plan(Map.of("nproc", "2", "tp", "2", "optimizer", "muon"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("muon updates whole matrices");
        assertThatThrownBy(() -> plan(Map.of("nproc", "2", "pp", "2", "pp_layers", "1,1,2"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("pp_layers lists 3 stages but pp·virtual_stages = 2·1 = 2");
        assertThatThrownBy(() -> plan(Map.of("recompute", "most"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("recompute must be none, selective or full");
        assertThatThrownBy(() -> plan(Map.of("nproc", "3", "tp", "2"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("nproc (3) must be a multiple of tp × pp");
        assertThatThrownBy(() -> plan(Map.of("offload", "true"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("offload");
    }
}
