package dev.tandem.plan.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.ModelCatalog;
import dev.tandem.plan.ModelSpec;
import dev.tandem.plan.PlanInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Properties of the serving simulator that hold whatever its constants are. */
class ServingSimulatorTest {
    private static final ModelSpec LLAMA = ModelCatalog.get("llama2-7b");
    private static final ClusterSpec NODE = ClusterSpec.parse("8xH100");

    /** Requests every {@code gap} seconds, all with the same prompt and output. */
    private static List<ServeRequest> steady(int n, double gap, int prompt, int output) {
        List<ServeRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(new ServeRequest(i * gap, prompt, output));
        return out;
    }

    @Test
    void littlesLawHoldsOnASteadyTrace() {
        // L = λ·W: the time-average number of requests in the system, integrated iteration by
        // iteration, equals the completion rate times the mean time each spends in it.
        for (ServingPlan plan : List.of(new ServingPlan(8, 1, 1), new ServingPlan(2, 4, 1), new ServingPlan(1, 4, 2))) {
            ServingResult r = ServingSimulator.run(LLAMA, NODE, plan, steady(300, 0.02, 512, 64));
            assertThat(r.rejected()).isZero();
            assertThat(r.latency()).hasSize(300);
            assertThat(r.meanInSystem()).as(plan.label()).isCloseTo(r.requestRate() * r.meanLatency(), within(1e-6 * r.meanInSystem()));
            // Steady state: more than one request in flight on average, so the batching is exercised.
            assertThat(r.meanInSystem()).isGreaterThan(1);
        }
    }

    @Test
    void moreTensorParallelismNeverIncreasesPerTokenComputeTime() {
        int[][] prefills = {{}, {2048}, {512, 512, 512}};
        int[][] decodes = {{1000}, {}, {300, 700, 1200, 2000, 4000}};
        for (int i = 0; i < prefills.length; i++) {
            double previous = Double.MAX_VALUE;
            for (int tp : new int[] {1, 2, 4, 8}) {
                double t = new IterationCost(LLAMA, NODE, tp, 1).compute(prefills[i], decodes[i]);
                assertThat(t).as("case %d tp %d", i, tp).isLessThanOrEqualTo(previous);
                previous = t;
            }
        }
    }

    @Test
    void aTraceOfOneRequestReducesToTheSingleRequestLatency() {
        ServingPlan plan = new ServingPlan(1, 2, 1);
        int prompt = 700, output = 5;
        ServingResult r = ServingSimulator.run(LLAMA, NODE, plan, List.of(new ServeRequest(3.0, prompt, output)));
        IterationCost cost = new IterationCost(LLAMA, NODE, 2, 1);
        double first = cost.seconds(new int[] {prompt}, new int[0]);
        double total = first;
        for (int k = 1; k < output; k++) total += cost.seconds(new int[0], new int[] {prompt + k});
        assertThat(r.ttft()).hasSize(1);
        assertThat(r.ttft()[0]).isCloseTo(first, within(1e-12));
        assertThat(r.latency()[0]).isCloseTo(total, within(1e-12));
        assertThat(r.tpot()[0]).isCloseTo((total - first) / (output - 1), within(1e-12));
    }

    @Test
    void aRequestLargerThanTheCacheIsRejectedNotQueuedForever() {
        ServingResult r = ServingSimulator.run(LLAMA, ClusterSpec.parse("1xA100-40GB"), new ServingPlan(1, 1, 1),
                List.of(new ServeRequest(0, 10_000_000, 10), new ServeRequest(0.1, 100, 10)));
        assertThat(r.rejected()).isEqualTo(1);
        assertThat(r.latency()).hasSize(1);
    }

    @Test
    void theSearchRanksByTheObjectiveAndLeavesOutPlansThatDoNotFit() {
        var trace = steady(60, 0.05, 256, 32);
        var ranked = ServingSearch.rank(ModelCatalog.get("llama2-70b"), NODE, trace, ServingSearch.Objective.TPOT);
        assertThat(ranked.getFirst().fits()).isTrue();
        // 70B in 16 bits is 140 GB: one H100 cannot hold it.
        assertThat(ranked.stream().filter(r -> r.plan().tp() * r.plan().pp() == 1)).allMatch(r -> !r.fits());
        for (int i = 1; i < ranked.size() && ranked.get(i).fits(); i++) {
            assertThat(ServingResult.quantile(ranked.get(i).tpot(), 0.9)).isGreaterThanOrEqualTo(ServingResult.quantile(ranked.get(i - 1).tpot(), 0.9));
        }
    }

    @Test
    void aTraceReadsJsonLinesAndRefusesUnknownKeys(@TempDir Path dir) throws Exception {
        Path ok = dir.resolve("t.jsonl");
        Files.writeString(ok, "{\"arrival\": 1.5, \"prompt\": 10, \"output\": 3}\n\n{\"arrival_time\": 0.5, \"input_tokens\": 7, \"output_tokens\": 2}\n");
        assertThat(RequestTrace.load(ok)).containsExactly(new ServeRequest(0.5, 7, 2), new ServeRequest(1.5, 10, 3));
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"arrival\": 0, \"prompt\": 10, \"output\": 3, \"priority\": 1}\n");
        assertThatThrownBy(() -> RequestTrace.load(bad)).isInstanceOf(PlanInputException.class).hasMessageContaining("line 1")
                .hasMessageContaining("unknown key 'priority'");
    }
}
