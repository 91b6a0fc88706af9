package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Parameters, FLOPs and activations of today's architectures against hand computations. */
class ModelArchitectureTest {

    @Test
    void llamaParameterCountsMatchTheirPublishedSizes() {
        // Llama 3 8B by hand: attention 2·4096² + 2·4096·1024 = 41,943,040; SwiGLU 3·4096·14336 = 176,160,768;
        // two RMSNorms 8,192: 218,112,000 per layer, ×32 = 6,979,584,000; word embedding and untied head
        // 2·128256·4096 = 1,050,673,152; no position table: 8,030,257,152 (the final norm is not counted).
        ModelSpec l3 = ModelCatalog.get("llama3-8b");
        assertThat(l3.paramsPerLayer()).isEqualTo(218_112_000);
        assertThat(l3.params()).isEqualTo(8_030_257_152L);
        assertThat(ModelCatalog.get("llama2-7b").params()).isCloseTo(6_738_000_000L, within(2_000_000L));
        assertThat(ModelCatalog.get("llama3-70b").params()).isCloseTo(70_550_000_000L, within(100_000_000L));
        assertThat(ModelCatalog.get("llama3-405b").params()).isCloseTo(405_850_000_000L, within(500_000_000L));
        // Mixtral 8x7B: 8 experts of 3·4096·14336 in each of 32 layers plus attention and routers: 46.7B.
        assertThat(ModelCatalog.get("mixtral-8x7b").params()).isCloseTo(46_700_000_000L, within(100_000_000L));
    }

    @Test
    void gptShapesAreUnchanged() {
        // 12h² + 13h per layer for f = 4h, tied head, learned positions (Narayanan et al.).
        ModelSpec m = ModelSpec.gpt("g", 4, 256, 8, 1000, 128);
        assertThat(m.paramsPerLayer()).isEqualTo(12.0 * 256 * 256 + 13 * 256);
        assertThat(m.embeddingParams()).isEqualTo((1000L + 128) * 256);
    }

    @Test
    void groupedQueryAttentionAndSwiGluFlopsByHand() {
        // h = 512, 8 heads of 64, 2 KV heads (kv_dim 128), SwiGLU f = 1536, s = 256.
        ModelSpec m = ModelSpec.llama("t", 2, 512, 8, 2, 1536, 1000, 256);
        double s = 256, h = 512;
        double matrices = 2 * h * h + 2 * h * 128 + 3 * h * 1536; // 524,288 + 131,072 + 2,359,296
        assertThat(m.matrixParamsPerLayer()).isEqualTo(3_014_656);
        assertThat(FlopsModel.layerForwardPerSequence(m)).isEqualTo(2 * s * matrices + 4 * s * s * h);
        // An untied head adds V·h; RoPE adds no table.
        assertThat(m.embeddingParams()).isEqualTo(2L * 1000 * 512);
    }

    @Test
    void expertsCountOnlyTheRoutedOnesInFlopsAndAllOfThemInParameters() {
        ModelSpec dense = ModelSpec.gpt("d", 4, 256, 4, 1000, 64);
        ModelSpec moe = dense.withMoe(new MoeShape(8, 2, 1.25, 2)); // layers 1 and 3 have 8 experts, top-2
        double mlp = 2.0 * 256 * 1024, router = 256 * 8;
        // Per layer on average: half the layers hold 8 MLPs instead of one.
        assertThat(moe.matrixParamsPerLayer()).isEqualTo(4.0 * 256 * 256 + 0.5 * mlp + 0.5 * 8 * mlp);
        assertThat(moe.otherParamsPerLayer() - dense.otherParamsPerLayer()).isEqualTo(0.5 * router);
        double s = 64;
        assertThat(FlopsModel.layerForwardPerSequence(moe) - FlopsModel.layerForwardPerSequence(dense))
                .isCloseTo(0.5 * 2 * s * (2 * mlp + router - mlp), within(1e-6));
        assertThat(moe.moe().computedExperts()).isEqualTo(2.5); // capacity 1.25 × top-2 rows per token
    }

    @Test
    void flashAttentionKeepsNoScoresAndSwiGluKeepsThreeMlpTensors() {
        ModelSpec m = ModelSpec.llama("t", 2, 512, 8, 2, 1536, 1000, 256);
        double s = 256, b = 2, h = 512, kv = 128, f = 1536, a = 8;
        double sbh = s * b * h;
        // Replicated 10sbh; Q 2sbh, K and V 2·2sb·kv, projection input 2sbh, SwiGLU 3·2sbf; flash LSE 4asb.
        double expected = 10 * sbh + 2 * sbh + 4 * s * b * kv + 2 * sbh + 6 * s * b * f + 4 * a * s * b;
        assertThat(ActivationMemory.perLayer(m, 2, 1, false, Recompute.NONE, AttentionKernel.FLASH)).isEqualTo(expected);
        double materialized = ActivationMemory.perLayer(m, 2, 1, false, Recompute.NONE, AttentionKernel.MATERIALIZED);
        assertThat(materialized - expected).isEqualTo(5 * a * s * s * b - 4 * a * s * b);
        // With flash, selective recompute has nothing left to drop.
        assertThat(ActivationMemory.perLayer(m, 2, 1, false, Recompute.SELECTIVE, AttentionKernel.FLASH))
                .isEqualTo(ActivationMemory.perLayer(m, 2, 1, false, Recompute.NONE, AttentionKernel.FLASH));
    }

    @Test
    void flashAttentionIsFasterAndNeedsLessMemoryThanMaterializedAtLongSequences() {
        ModelSpec m = ModelCatalog.get("llama3-8b");
        CostModel cost = new CostModel(m, ClusterSpec.parse("8xH100"), 64);
        Plan base = Plan.parse("dp=8 micro_batches=8 recompute=none zero=1", PlanSearch.Space.of(cost.cluster()).base());
        Prediction mat = cost.predict(base), flash = cost.predict(base.withAttention(AttentionKernel.FLASH));
        assertThat(flash.stepSeconds()).isLessThan(mat.stepSeconds());
        assertThat(flash.memory().activations()).isLessThan(0.5 * mat.memory().activations());
        assertThat(flash.plan().label()).endsWith("attention=flash");
        assertThat(Plan.parse(flash.plan().label(), Plan.SINGLE)).isEqualTo(flash.plan());
    }
}
