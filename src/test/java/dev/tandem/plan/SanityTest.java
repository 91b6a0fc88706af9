package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * Held-out checks of mechanisms, not of numbers: orderings that measurements in the literature
 * show and that no constant was chosen to produce.
 */
class SanityTest {
    private static final ModelSpec ONE_T = ModelCatalog.get("megatron-1t");

    private static Plan plan(CostModel cost, int tp, int pp, int dp, int mb, int v, ZeroStage zero, Recompute rc, boolean sp) {
        return Plans.gpu(tp, pp, dp, mb, cost.globalBatch(), v, zero, rc, sp, false);
    }

    @Test
    void zero3AtTrillionScaleIsSlowerThanTensorPlusPipeline() {
        CostModel cost = new CostModel(ONE_T, ClusterSpec.parse("3072xA100-80GB"), 3072);
        Prediction ptd = cost.predict(plan(cost, 8, 64, 6, 1, 1, ZeroStage.ZERO0, Recompute.FULL, false));
        Prediction zero3 = cost.predict(plan(cost, 1, 1, 3072, 1, 1, ZeroStage.ZERO3, Recompute.FULL, false));
        assertThat(zero3.feasible()).isTrue();
        assertThat(zero3.stepSeconds()).isGreaterThan(1.5 * ptd.stepSeconds());
        assertThat(zero3.time().dataParallel()).isGreaterThan(zero3.time().compute());
    }

    @Test
    void fullRecomputeIsSlowerThanSelective() {
        CostModel cost = new CostModel(ModelCatalog.get("megatron-145.6b"), ClusterSpec.parse("1536xA100-80GB"), 2304);
        for (boolean sp : new boolean[] {false, true}) {
            Prediction full = cost.predict(plan(cost, 8, 8, 24, 2, 2, ZeroStage.ZERO0, Recompute.FULL, sp));
            Prediction selective = cost.predict(plan(cost, 8, 8, 24, 2, 2, ZeroStage.ZERO0, Recompute.SELECTIVE, sp));
            assertThat(full.stepSeconds()).isGreaterThan(1.15 * selective.stepSeconds());
            // Korthikanti et al.: selective recompute costs a few percent, full about a third.
            assertThat(selective.hardwareFlops() / selective.modelFlops()).isLessThan(1.05);
            assertThat(full.memory().activations()).isLessThan(selective.memory().activations());
        }
    }

    @Test
    void interleavingShrinksTheBubbleAndCostsTransfers() {
        CostModel cost = new CostModel(ONE_T, ClusterSpec.parse("3072xA100-80GB"), 3072);
        Prediction v1 = cost.predict(plan(cost, 8, 16, 24, 1, 1, ZeroStage.ZERO1, Recompute.SELECTIVE, true));
        Prediction v4 = cost.predict(plan(cost, 8, 16, 24, 1, 4, ZeroStage.ZERO1, Recompute.SELECTIVE, true));
        assertThat(v4.time().bubble()).isCloseTo(v1.time().bubble() / 4, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(v4.time().pipelineP2p()).isGreaterThan(v1.time().pipelineP2p());
        assertThat(v4.memory().activations()).isGreaterThan(v1.memory().activations());
    }

    @Test
    void zeroStagesTradeMemoryForCommunication() {
        CostModel cost = new CostModel(ModelCatalog.get("gpt3-13b"), ClusterSpec.parse("64xA100-80GB"), 512);
        double previous = Double.MAX_VALUE;
        for (ZeroStage z : ZeroStage.values()) {
            Prediction p = cost.predict(plan(cost, 1, 1, 64, 1, 1, z, Recompute.FULL, false));
            double states = p.memory().params() + p.memory().grads() + p.memory().optimizer();
            assertThat(states).isLessThan(previous);
            previous = states;
        }
    }

    @Test
    void offloadMovesOptimizerStateToTheHost() {
        CostModel cost = new CostModel(ModelCatalog.get("gpt3-13b"), ClusterSpec.parse("8xA100-80GB"), 64);
        Plan on = Plans.gpu(8, 1, 1, 1, cost.globalBatch(), 1, ZeroStage.ZERO0, Recompute.FULL, true, true);
        Plan off = Plans.gpu(8, 1, 1, 1, cost.globalBatch(), 1, ZeroStage.ZERO0, Recompute.FULL, true, false);
        Prediction a = cost.predict(on), b = cost.predict(off);
        assertThat(a.memory().optimizer()).isZero();
        assertThat(a.memory().hostOptimizer()).isEqualTo(b.memory().optimizer());
        assertThat(a.time().optimizer()).isGreaterThan(b.time().optimizer());
    }

    @Test
    void aModelThatCannotFitIsRejectedWithTheReason() {
        CostModel cost = new CostModel(ModelCatalog.get("gpt3-175b"), ClusterSpec.parse("8xV100-32GB"), 8);
        SearchResult r = PlanSearch.search(cost, 3);
        assertThat(r.ranked()).isEmpty();
        assertThat(r.rejectedByReason()).containsKey("out of device memory");
        assertThatThrownBy(r::best).isInstanceOf(PlanInputException.class).hasMessageContaining("no plan fits")
                .hasMessageContaining("GB per device");
    }

    @Test
    void fasterHardwareIsFaster() {
        ModelSpec m = ModelCatalog.get("gpt3-6.7b");
        double a100 = PlanSearch.search(new CostModel(m, ClusterSpec.parse("64xA100-80GB"), 512), 1).best().stepSeconds();
        double h100 = PlanSearch.search(new CostModel(m, ClusterSpec.parse("64xH100"), 512), 1).best().stepSeconds();
        double v100 = PlanSearch.search(new CostModel(m, ClusterSpec.parse("64xV100-32GB"), 512), 1).best().stepSeconds();
        assertThat(h100).isLessThan(a100);
        assertThat(a100).isLessThan(v100);
    }

    @Test
    void gemmEfficiencyGrowsWithSizeAndStaysBelowTheBest() {
        KernelTimer k = new KernelTimer(HardwareCatalog.get("A100-80GB"));
        double small = k.gemmEfficiency(256, 256, 256, 1), mid = k.gemmEfficiency(2048, 2048, 2048, 1),
                big = k.gemmEfficiency(16384, 16384, 16384, 1);
        assertThat(small).isLessThan(mid);
        assertThat(mid).isLessThan(big);
        assertThat(big).isLessThan(0.86).isGreaterThan(0.8);
    }

    @Test
    void gemmEfficiencyIsSmoothInTheShape() {
        // Expected-value padding: no cliffs when a dimension crosses a tile or wave boundary.
        KernelTimer k = new KernelTimer(HardwareCatalog.get("H100-SXM"));
        double previous = k.gemmEfficiency(64, 4096, 4096, 1);
        for (int m = 65; m <= 8192; m++) {
            double e = k.gemmEfficiency(m, 4096, 4096, 1);
            assertThat(Math.abs(e - previous)).as("M=%d", m).isLessThan(0.005);
            previous = e;
        }
    }
}
