package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ParsingTest {
    @Test
    void clusterSpellings() {
        for (String s : new String[] {"1024xA100-80G", "1024xA100-80GB", "1024 x a100_80gb", "1024XA100"}) {
            ClusterSpec c = ClusterSpec.parse(s);
            assertThat(c.devices()).isEqualTo(1024);
            assertThat(c.hardware().name()).isEqualTo("A100-80GB");
        }
        assertThat(ClusterSpec.parse("8xH100-SXM5").hardware().name()).isEqualTo("H100-SXM");
        assertThat(ClusterSpec.parse("16xMI250X-GCD").hardware().name()).isEqualTo("MI250X");
        assertThat(ClusterSpec.parse("8xAscend910").hardware().name()).isEqualTo("Ascend-910");
        assertThat(ClusterSpec.parse("4xV100").hardware().name()).isEqualTo("V100-32GB");
        assertThat(ClusterSpec.parse("2xA100-40GB").devicesPerNode()).isEqualTo(2);
        assertThatThrownBy(() -> ClusterSpec.parse("A100")).isInstanceOf(PlanInputException.class);
    }

    @Test
    void everyCatalogDeviceHasTheNumbersTheModelNeeds() {
        for (String name : HardwareCatalog.names()) {
            Hardware hw = HardwareCatalog.get(name);
            assertThat(hw.mixedPrecisionPeak()).as(name).isGreaterThan(1e13);
            assertThat(hw.memory().bytes()).as(name).isGreaterThan(16_000_000_000L);
            assertThat(hw.network().intraBandwidth()).as(name).isGreaterThan(hw.network().interBandwidth());
            assertThat(hw.compute().matmulEfficiency()).as(name).isBetween(0.5, 1.0);
        }
    }

    @Test
    void invalidPlansAreExplained() {
        ModelSpec m = ModelCatalog.get("megatron-1t");
        ClusterSpec c = ClusterSpec.parse("3072xA100-80GB");
        Plan base = Plan.SINGLE.withPrecision(TrainingPrecision.MIXED);
        assertThat(PlanRules.check(m, c, 3072, Plan.parse("dp=6 tp=16 pp=32 micro_batches=512", base))).contains("inside a node");
        assertThat(PlanRules.check(m, c, 3072, Plan.parse("dp=8 tp=8 pp=48 schedule=interleaved virtual_stages=2 micro_batches=48", base)))
                .contains("layers");
        assertThat(PlanRules.check(m, c, 3072, Plan.parse("dp=8 tp=8 pp=48 micro_batches=384", base))).isNull();
        assertThat(PlanRules.check(m, c, 3072, Plan.parse("dp=6 tp=8 pp=64 schedule=interleaved virtual_stages=2 micro_batches=32", base)))
                .contains("multiple of pp");
        assertThat(PlanRules.check(m, c, 3072, Plan.parse("dp=6 tp=8 pp=64 micro_batches=512", base))).isNull();
    }
}
