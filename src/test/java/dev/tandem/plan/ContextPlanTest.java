package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The context axis (cp) and hybrid data/context parallelism (hdp) in the plan: one label, one JSON form, one check. */
class ContextPlanTest {
    private static final ModelSpec SMALL = ModelSpec.gpt("small", 4, 64, 4, 256, 32);

    @Test
    void theLabelAndJsonCarryTheContextAxis() {
        Plan p = Plan.parse("dp=2 cp=4 hdp=true", Plan.SINGLE);
        assertThat(p.mesh()).isEqualTo(new MeshShape(2, 1, 1, 1, 4, true));
        assertThat(p.worldSize()).isEqualTo(8);
        assertThat(p.label()).contains("cp=4 hdp=true");
        assertThat(p.toJson().get("cp").asInt()).isEqualTo(4);
        assertThat(p.toJson().get("hdp").asBoolean()).isTrue();
        assertThat(Plan.parse(p.label(), Plan.SINGLE)).isEqualTo(p);
        assertThat(Plan.fromJson(p.toJson(), Plan.SINGLE)).isEqualTo(p);
        // Without the axis the label and JSON read as before it existed.
        assertThat(Plan.SINGLE.label()).doesNotContain("cp=").doesNotContain("hdp");
        assertThat(Plan.SINGLE.toJson().has("cp")).isFalse();
        assertThat(p.problem(SMALL, 8, 16)).isNull();
    }

    @Test
    void cpMustDivideTheRanks() {
        Plan p = Plan.parse("dp=1 cp=3", Plan.SINGLE);
        assertThat(p.problem(SMALL, 4, 8)).contains("dp·cp·tp·pp = 1·3·1·1 = 3 ranks but the job has 4").contains("cp must divide the ranks");
        assertThatThrownBy(() -> Plan.parse("cp=0", Plan.SINGLE)).hasMessageContaining("cp must be >= 1");
        assertThatThrownBy(() -> Plan.parse("hdp=yes", Plan.SINGLE)).hasMessageContaining("hdp must be true or false");
    }

    /**
     * What runs is cp (and hdp) with data parallelism and ZeRO; cp with tp or pp is refused by the
     * plan itself, naming the fix, so that neither a config nor the planner reaches a runtime that
     * would refuse it.
     */
    @Test
    void whatTheRuntimeDoesNotRunIsRefusedByThePlan() {
        assertThat(Plan.parse("dp=2 cp=2 zero=3", Plan.SINGLE).problem(SMALL, 4, 8)).isNull();
        assertThat(Plan.parse("dp=1 cp=2 tp=2 zero=1", Plan.SINGLE).problem(SMALL, 4, 8))
                .contains("not split by tp = 2 or pp = 1").contains("use tp = 1 and pp = 1 with cp = 2");
        assertThat(Plan.parse("dp=1 cp=2 pp=2 hdp=true", Plan.SINGLE).problem(SMALL, 4, 8)).contains("use tp = 1 and pp = 1 with hdp = true");
        assertThat(Plan.parse("dp=2 cp=2 hdp=true micro_batches=2", Plan.SINGLE).problem(SMALL, 4, 8)).contains("leave micro_batches = 1");
        assertThat(Plan.parse("dp=1 cp=32", Plan.SINGLE).problem(SMALL, 32, 8)).contains("2·cp = 64 chunks");
    }

    /**
     * The planner's side: ring attention shrinks a rank's activations by cp and adds ring traffic;
     * a 32K-token model whose materialized attention does not fit one device's activations is
     * planned with cp > 1 (with flash attention it fits without).
     */
    @Test
    void thePlannerSplitsLongSequences() {
        ModelSpec longContext = ModelSpec.gpt("long", 24, 2048, 16, 50304, 32768);
        CostModel cost = new CostModel(longContext, ClusterSpec.parse("8xA100-80GB"), 8);
        // The same rows per micro-batch (one), so the only difference is the split of each sequence.
        Plan dense = Plan.parse("dp=2 micro_batches=4", Plan.SINGLE), split = Plan.parse("dp=2 cp=4 micro_batches=4", Plan.SINGLE);
        assertThat(cost.memory(split).activations()).isCloseTo(cost.memory(dense).activations() / 4, org.assertj.core.data.Percentage.withPercentage(1));
        assertThat(cost.predict(Plan.parse("dp=2 cp=4", Plan.SINGLE)).time().pipelineP2p()).as("ring traffic").isGreaterThan(0);
        assertThat(cost.predict(Plan.parse("dp=8", Plan.SINGLE)).time().pipelineP2p()).isZero();
        PlanSearch.Space s = PlanSearch.Space.of(cost.cluster());
        SearchResult r = PlanSearch.search(cost, 3, new PlanSearch.Space(s.precision(), s.optimizer(), s.offloads(), List.of(AttentionKernel.MATERIALIZED)));
        assertThat(r.best().plan().cp()).as(r.best().plan().label()).isGreaterThan(1);
    }
}
