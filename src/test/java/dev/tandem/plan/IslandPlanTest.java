package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Islands and the outer algorithm in the plan: one label, one JSON form, one check. */
class IslandPlanTest {
    private static final ModelSpec SMALL = ModelSpec.gpt("small", 4, 64, 4, 256, 32);

    @Test
    void theLabelCarriesIslandsTheOuterAlgorithmAndTheLink() {
        Plan p = Plan.parse("dp=2 islands=2 outer=diloco outer_steps=10 outer_lr=0.5 outer_momentum=0.8 link_bandwidth=100Mbit "
                + "link_latency=10ms", Plan.SINGLE);
        assertThat(p.mesh()).isEqualTo(new MeshShape(2, 1, 1, 2));
        assertThat(p.worldSize()).isEqualTo(4);
        assertThat(p.mesh().islandSize()).isEqualTo(2);
        assertThat(p.outer().algorithm()).isEqualTo(OuterSpec.Algorithm.DILOCO);
        assertThat(p.outer().steps()).isEqualTo(10);
        assertThat(p.outer().lr()).isEqualTo(0.5);
        assertThat(p.outer().momentum()).isEqualTo(0.8);
        assertThat(p.outer().link().bitsPerSecond()).isEqualTo(100e6);
        assertThat(p.outer().link().latencySeconds()).isEqualTo(0.010);
        assertThat(p.label()).endsWith("islands=2 outer=diloco outer_steps=10 outer_lr=0.5 outer_momentum=0.8 noloco_alpha=0.7 "
                + "noloco_beta=0.5 link_bandwidth=100Mbit link_latency=10ms");
        assertThat(Plan.parse(p.label(), Plan.SINGLE)).isEqualTo(p);
        assertThat(Plan.fromJson(p.toJson(), Plan.SINGLE)).isEqualTo(p);
        // One island and no outer algorithm: the label reads as before islands existed.
        assertThat(Plan.SINGLE.label()).doesNotContain("islands").doesNotContain("outer");
    }

    @Test
    void eachIslandTrainsOnItsShareOfTheBatch() {
        Plan p = Plan.parse("dp=2 micro_batches=2 islands=2 outer=noloco", Plan.SINGLE);
        assertThat(p.rowsPerMicroBatch(16)).isEqualTo(2);
        assertThat(p.problem(SMALL, 4, 16)).isNull();
        assertThat(p.problem(SMALL, 4, 12)).contains("islands·dp·micro_batches");
    }

    @Test
    void islandsMustDivideTheWorldAndGoWithAnOuterAlgorithm() {
        assertThat(Plan.parse("dp=2 islands=2 outer=diloco", Plan.SINGLE).problem(SMALL, 6, 16))
                .contains("islands·dp·tp·pp = 2·2·1·1 = 4").contains("has 6");
        assertThat(Plan.parse("islands=2", Plan.SINGLE).problem(SMALL, 2, 16)).contains("outer = sync, diloco or noloco");
        assertThat(Plan.parse("outer=sync", Plan.SINGLE).problem(SMALL, 1, 16)).contains("islands >= 2");
        assertThat(Plan.parse("islands=3 outer=noloco", Plan.SINGLE).problem(SMALL, 3, 24)).contains("even");
        // DiLoCo on one island is the single-worker form, a valid plan.
        assertThat(Plan.parse("outer=diloco", Plan.SINGLE).problem(SMALL, 1, 16)).isNull();
        assertThat(Plan.parse("dp=2 tp=2 islands=2 outer=diloco", Plan.SINGLE).problem(SMALL, 8, 16)).isNull();
    }

    @Test
    void badOuterSettingsNameTheKey() {
        assertThatThrownBy(() -> Plan.parse("outer=fedavg", Plan.SINGLE)).hasMessageContaining("outer must be none, sync, diloco or noloco");
        assertThatThrownBy(() -> Plan.parse("outer_momentum=1", Plan.SINGLE)).hasMessageContaining("outer_momentum must be in [0, 1)");
        assertThatThrownBy(() -> Plan.parse("outer_steps=0", Plan.SINGLE)).hasMessageContaining("outer_steps must be >= 1");
        assertThatThrownBy(() -> Plan.parse("islands=0", Plan.SINGLE)).hasMessageContaining("islands must be >= 1");
        assertThatThrownBy(() -> Plan.parse("link_bandwidth=fast", Plan.SINGLE)).hasMessageContaining("100Mbit");
        assertThatThrownBy(() -> Plan.parse("link_latency=10", Plan.SINGLE)).hasMessageContaining("10ms");
    }

    @Test
    void linkUnitsReadAndWriteBack() {
        assertThat(IslandLink.parseBandwidth("1.5Gbit")).isEqualTo(1.5e9);
        assertThat(IslandLink.parseBandwidth("800kbit")).isEqualTo(8e5);
        assertThat(IslandLink.parseLatency("500us")).isEqualTo(5e-4);
        assertThat(new IslandLink(100e6, 0.01).bandwidthText()).isEqualTo("100Mbit");
        assertThat(new IslandLink(100e6, 0.01).latencyText()).isEqualTo("10ms");
        IslandLink odd = new IslandLink(1.5e9, 5e-4);
        assertThat(new IslandLink(IslandLink.parseBandwidth(odd.bandwidthText()), IslandLink.parseLatency(odd.latencyText()))).isEqualTo(odd);
    }
}
