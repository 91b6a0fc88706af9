package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Narayanan et al. 2021, Table 1: given each run's published plan, the predicted TFLOP/s per GPU
 * must land within ±10% of the published value. The published numbers live only here, in the test.
 */
class PublishedRunsTest {

    static Stream<Arguments> runs() {
        return Stream.of(
                Arguments.of("megatron-1.7b", 1, 1, 32, 512, 16, 1, 137.0),
                Arguments.of("megatron-7.5b", 4, 1, 128, 512, 16, 1, 142.0),
                Arguments.of("megatron-39.1b", 8, 2, 512, 1536, 4, 1, 138.0),
                Arguments.of("megatron-145.6b", 8, 8, 1536, 2304, 2, 2, 148.0),
                Arguments.of("megatron-1t", 8, 64, 3072, 3072, 1, 1, 163.0));
    }

    static Prediction publishedPlan(String model, int tp, int pp, int gpus, int batch, int mb, int v) {
        CostModel cost = new CostModel(ModelCatalog.get(model), ClusterSpec.parse(gpus + "xA100-80GB"), batch);
        Plan plan = Plans.gpu(tp, pp, gpus / (tp * pp), mb, batch, v, ZeroStage.ZERO0, Recompute.FULL, false, false);
        return cost.predict(plan);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void predictedThroughputOfPublishedPlanIsWithinTenPercent(String model, int tp, int pp, int gpus, int batch,
                                                              int mb, int v, double published) {
        Prediction p = publishedPlan(model, tp, pp, gpus, batch, mb, v);
        System.out.printf("%s %.1f TFLOP/s (published %.0f) %s mem %.1f GB%n", model, p.tflopsPerDevice(), published,
                p.time(), p.memory().total() / 1e9);
        assertThat(p.feasible()).as(p.rejection() == null ? "" : p.rejection()).isTrue();
        assertThat(p.tflopsPerDevice()).isCloseTo(published, within(0.10 * published));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void searchFindsAPlanAtLeastAsFastAsThePublishedOne(String model, int tp, int pp, int gpus, int batch, int mb, int v,
                                                       double published) {
        Prediction paper = publishedPlan(model, tp, pp, gpus, batch, mb, v);
        CostModel cost = new CostModel(ModelCatalog.get(model), ClusterSpec.parse(gpus + "xA100-80GB"), batch);
        SearchResult result = PlanSearch.search(cost, 3);
        Prediction best = result.best();
        System.out.printf("%s best %s %.2f s vs published plan %.2f s; %s%n", model, best.plan().label(),
                best.stepSeconds(), paper.stepSeconds(), Explanation.compare(best, paper));
        assertThat(best.feasible()).isTrue();
        assertThat(best.stepSeconds()).isLessThanOrEqualTo(paper.stepSeconds());
        assertThat(Explanation.compare(best, paper)).contains("→").containsAnyOf("slower", "as fast");
    }
}
