package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The new cost formulas against hand computations: ZeRO-3, FP8, experts, islands. */
class CostFormulasTest {
    private static final ClusterSpec A100 = ClusterSpec.parse("64xA100-80GB");

    @Test
    void zeroThreeBuffersAreTwoGatheredModulesAndOneFloat32Gradient() {
        // GPT h = 1024, f = 4096: the largest module is the MLP matrix h·f = 4,194,304 parameters;
        // current + prefetched in 16 bits (2·2 bytes) and its float32 gradient (4 bytes): 8 bytes each.
        ModelSpec m = ModelSpec.gpt("g", 8, 1024, 16, 1000, 512);
        Plan p = Plan.parse("dp=64 zero=3", PlanSearch.Space.of(A100).base());
        assertThat(ZeroThree.buffers(m, p)).isEqualTo(8.0 * 1024 * 4096);
        assertThat(ZeroThree.contention(A100.hardware())).isEqualTo(32.0 / 108);
    }

    @Test
    void zeroThreeCommunicationIsGatherGatherAndAFloat32ReduceScatterPerLayer() {
        // With tiny compute nothing hides: per layer and micro-batch the data-parallel time is
        // 2 gathers of 2Ψ_layer bytes and a reduce-scatter of 4Ψ_layer, plus the ends and one first gather.
        ModelSpec m = ModelSpec.gpt("g", 4, 2048, 16, 1000, 16);
        ClusterSpec c = ClusterSpec.parse("256xA100-80GB");
        CostModel cost = new CostModel(m, c, 256);
        Plan p = Plan.parse("dp=256 zero=3 micro_batches=1 recompute=none", PlanSearch.Space.of(c).base());
        CommModel comm = new CommModel(c);
        double layer = m.paramsPerLayer(), ends = m.embeddingParams();
        double gather = comm.allGather(2 * layer, 256, CommModel.Link.INTER_NODE);
        double scatter = comm.reduceScatter(4 * layer, 256, CommModel.Link.INTER_NODE);
        LayerCost lc = cost.layer(LayerModel.Shape.of(p, 256));
        double perLayer = Math.max(0, gather - lc.forward()) + Math.max(0, gather + scatter - lc.backwardPhase(Recompute.NONE));
        double expected = 4 * perLayer + gather + comm.allGather(2 * ends, 256, CommModel.Link.INTER_NODE)
                + comm.reduceScatter(4 * ends, 256, CommModel.Link.INTER_NODE);
        assertThat(cost.predict(p).time().dataParallel()).isCloseTo(expected, within(1e-9 * expected));
    }

    @Test
    void fp8RunsTheLayersAtTheFp8PeakWhereTheDeviceHasIt() {
        Hardware h100 = HardwareCatalog.get("H100"), a100 = HardwareCatalog.get("A100-80GB");
        assertThat(TrainingPrecision.FP8.gemmPeak(h100)).isEqualTo(1979e12);
        assertThat(TrainingPrecision.MIXED.gemmPeak(h100)).isEqualTo(989.4e12);
        assertThat(TrainingPrecision.FP32.gemmPeak(a100)).isEqualTo(156e12); // TF32 tensor cores
        ModelSpec m = ModelCatalog.get("llama3-8b");
        Plan fp8 = Plan.parse("dp=8 micro_batches=8 zero=1 attention=flash precision=fp8", Plan.SINGLE);
        assertThat(PlanRules.check(m, ClusterSpec.parse("8xA100-80GB"), 64, fp8)).contains("precision = fp8").contains("A100");
        CostModel h = new CostModel(m, ClusterSpec.parse("8xH100"), 64);
        Prediction f8 = h.predict(fp8), bf16 = h.predict(fp8.withPrecision(TrainingPrecision.MIXED));
        assertThat(f8.stepSeconds()).isLessThan(bf16.stepSeconds());
        // Same model states (16-bit weights and gradients, float32 master); the FP8 weight copies are buffers.
        assertThat(f8.memory().optimizer()).isEqualTo(bf16.memory().optimizer());
        assertThat(f8.memory().buffers() - bf16.memory().buffers()).isCloseTo(2 * m.layers() * m.matrixParamsPerLayer(), within(1.0));
    }

    @Test
    void expertAllToAllsByHand() {
        // 4 MoE layers of 8 experts, top-2 with capacity 1 (2 rows per token), ep = 4 inside a node:
        // per layer and direction a dispatch and a combine of rows·h·2 bytes, (ep−1)/ep of it sent.
        ModelSpec m = ModelSpec.gpt("m", 4, 512, 8, 1000, 128).withMoe(new MoeShape(8, 2, 1.0, 1));
        ClusterSpec c = ClusterSpec.parse("8xA100-80GB");
        CostModel cost = new CostModel(m, c, 16);
        Plan p = Plan.parse("dp=8 ep=4 micro_batches=1", PlanSearch.Space.of(c).base());
        CommModel comm = new CommModel(c);
        double rows = 2.0 * 2 * 128; // 2 sequences of 128 tokens, 2 rows each
        double one = comm.allToAll(2 * rows * 512, 4, CommModel.Link.INTRA_NODE);
        LayerCost lc = cost.layer(LayerModel.Shape.of(p, 16));
        assertThat(lc.a2aForward()).isEqualTo(2 * one);
        assertThat(cost.predict(p).time().expertParallel()).isCloseTo(4 * 4 * one, within(1e-15));
        // Each rank holds a quarter of the experts.
        double experts = 4 * 8 * 2.0 * 512 * 2048;
        Prediction all = cost.predict(p.withExperts(ExpertLayout.NONE));
        assertThat(all.memory().params() - cost.predict(p).memory().params()).isCloseTo(2 * experts * 3 / 4, within(1.0));
    }

    @Test
    void theSearchTriesExpertGroupsForAnMoeModel() {
        ModelSpec m = ModelCatalog.get("mixtral-8x7b");
        SearchResult r = PlanSearch.search(new CostModel(m, ClusterSpec.parse("64xH100"), 256), 3);
        assertThat(r.ranked()).isNotEmpty();
        assertThat(PlanSearch.expertLayouts(m, 16, 1, 1)).contains(new ExpertLayout(8, ExpertLayout.Mode.EP),
                new ExpertLayout(16, ExpertLayout.Mode.FSSDP)).doesNotContain(new ExpertLayout(16, ExpertLayout.Mode.EP));
    }

    @Test
    void islandTrafficByHand() {
        // DiLoCo: every H steps a float32 ring all-reduce of a device's parameters over the islands' link.
        ModelSpec m = ModelSpec.gpt("g", 4, 256, 4, 1000, 64);
        ClusterSpec c = ClusterSpec.parse("8xA100-80GB");
        CostModel cost = new CostModel(m, c, 16);
        Plan p = Plan.parse("dp=2 tp=1 islands=4 outer=diloco outer_steps=10 link_bandwidth=100Mbit link_latency=10ms",
                PlanSearch.Space.of(c).base());
        double psi = m.params() / 2.0;
        double ring = 2.0 * 3 / 4 * 4 * psi / 12.5e6 + 2.0 * 3 * 0.010;
        assertThat(cost.predict(p).time().islands()).isCloseTo(ring / 10, within(1e-9));
        Plan sync = Plan.parse("outer=sync", p);
        assertThat(cost.predict(sync).time().islands()).isCloseTo(2.0 * 3 / 4 * 2 * psi / 12.5e6 + 2.0 * 3 * 0.010, within(1e-9));
    }
}
