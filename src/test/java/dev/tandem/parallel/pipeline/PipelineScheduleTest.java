package dev.tandem.parallel.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.nn.GPTConfig;
import dev.tandem.plan.Schedule;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The schedules as plain data: every ordering completes, communicates without deadlock under the
 * strictest semantics, keeps the memory and bubble the literature gives it; bad inputs are refused.
 */
class PipelineScheduleTest {
    /** Eight layers, so that 4 ranks × 2 chunks fit; costs are equal per layer (balanced layout). */
    private static final GPTConfig MODEL = new GPTConfig(8, 2, 32, 64, 16);

    static Stream<Arguments> legalRuns() {
        List<Arguments> out = new ArrayList<>();
        for (int p : new int[] {2, 4}) {
            for (int m = 1; m <= 8; m++) {
                out.add(Arguments.of(new PipelineSchedule.GPipe(), p, m));
                out.add(Arguments.of(new PipelineSchedule.OneFOneB(), p, m));
                if (m % p == 0) out.add(Arguments.of(new PipelineSchedule.Interleaved(2), p, m));
            }
        }
        return out.stream();
    }

    private static StageLayout layout(PipelineSchedule s, int p) {
        return StageLayout.of(MODEL, 16, p, s.chunks(), evenly(MODEL.nLayer(), p * s.chunks()));
    }

    private static int[] evenly(int layers, int stages) {
        int[] counts = new int[stages];
        for (int i = 0; i < stages; i++) counts[i] = layers / stages;
        return counts;
    }

    @ParameterizedTest(name = "{0} p={1} m={2}")
    @MethodSource("legalRuns")
    void everyRankRunsEachPassOnceForwardFirstAndNothingDeadlocks(PipelineSchedule s, int p, int m) {
        Timeline t = Timeline.of(layout(s, p), s, m); // throws if a rank waits forever or lists a backward first
        for (int r = 0; r < p; r++) {
            List<Action> actions = s.actions(r, p, m);
            assertThat(actions).hasSize(2 * m * s.chunks()).doesNotHaveDuplicates();
            for (int i = 0; i < actions.size(); i++) {
                Action a = actions.get(i);
                if (!a.forward()) assertThat(actions.subList(0, i)).as("rank %d: %s after its forward", r, a).contains(Action.forward(a.microBatch(), a.chunk()));
            }
            // Backward passes of a chunk in micro-batch order: gradients accumulate as on one rank.
            for (int c = 0; c < s.chunks(); c++) {
                int chunk = c;
                assertThat(actions.stream().filter(a -> !a.forward() && a.chunk() == chunk).map(Action::microBatch).toList())
                        .isSorted();
            }
        }
        RendezvousCheck.check(t, 1);
        RendezvousCheck.check(t, 2);
    }

    /**
     * The order matters: posting every receive up front (a natural first try) deadlocks 1F1B when
     * a rank's operations run one at a time — rank 0 waits for micro-batch 0's gradient while the
     * send of micro-batch 1's activation, which rank 1 needs first, is queued behind it.
     */
    @Test
    void receivesPostedUpFrontDeadlock() {
        PipelineSchedule s = new PipelineSchedule.OneFOneB();
        Timeline t = Timeline.of(layout(s, 2), s, 4);
        assertThatThrownBy(() -> RendezvousCheck.check(t.layout(), r -> receivesFirst(t.program(r)), 1)).hasMessageContaining("deadlock");
    }

    /** The same steps, but every receive first and each send right after the action that produced it. */
    private static List<Timeline.Step> receivesFirst(List<Timeline.Step> program) {
        List<Timeline.Step> out = new ArrayList<>();
        for (Timeline.Step st : program) if (st instanceof Timeline.Post post && !post.send()) out.add(post);
        for (Timeline.Step st : program) {
            if (!(st instanceof Timeline.Run run)) continue;
            out.add(run);
            for (Timeline.Step x : program) {
                if (x instanceof Timeline.Post post && post.send() && post.message().time() == run.end()) out.add(post);
            }
        }
        return out;
    }

    /** The most micro-batches whose forward has run and whose backward has not, on {@code rank}. */
    private static int maxInFlight(List<Action> actions) {
        int now = 0, max = 0;
        for (Action a : actions) {
            now += a.forward() ? 1 : -1;
            max = Math.max(max, now);
        }
        return max;
    }

    @ParameterizedTest(name = "p={0}")
    @ValueSource(ints = {2, 4})
    void inFlightMicroBatchesOnTheFirstStage(int p) {
        for (int m = 1; m <= 8; m++) {
            assertThat(maxInFlight(new PipelineSchedule.OneFOneB().actions(0, p, m))).as("1F1B m=%d", m).isEqualTo(Math.min(p, m));
            assertThat(maxInFlight(new PipelineSchedule.GPipe().actions(0, p, m))).as("GPipe m=%d", m).isEqualTo(m);
            for (int r = 0; r < p; r++) {
                assertThat(maxInFlight(new PipelineSchedule.OneFOneB().actions(r, p, m))).as("1F1B rank %d", r).isLessThanOrEqualTo(p - r);
            }
            // Interleaved: v·p + p − 1 chunk passes of 1/v of the stage each, p + (p−1)/v stages' worth.
            if (m % p == 0) {
                assertThat(maxInFlight(new PipelineSchedule.Interleaved(2).actions(0, p, m))).as("interleaved m=%d", m)
                        .isEqualTo(Math.min(2 * p + p - 1, 2 * m));
            }
        }
    }

    /**
     * With stages of equal cost (the head's cost left out) the simulated bubble of the first rank
     * is exactly the textbook one: (p−1)/m for GPipe and 1F1B, (p−1)/(v·m) interleaved.
     */
    @ParameterizedTest(name = "{0} p={1} m={2}")
    @MethodSource("legalRuns")
    void simulatedBubbleIsTheFormula(PipelineSchedule s, int p, int m) {
        int k = p * s.chunks();
        long[] equal = new long[k];
        Arrays.fill(equal, 1000);
        Timeline t = Timeline.of(new StageLayout(p, s.chunks(), evenly(MODEL.nLayer(), k), equal), s, m);
        assertThat(t.bubble(0)).isCloseTo(s.bubbleFormula(p, m), Offset.offset(1e-12));
    }

    @Test
    void badSchedulesAreRefusedByName() {
        assertThatThrownBy(() -> new PipelineSchedule.Interleaved(2).actions(0, 4, 6))
                .isInstanceOf(TandemException.class).hasMessageContaining("not a multiple of pp = 4").hasMessageContaining("use 8");
        assertThatThrownBy(() -> new PipelineSchedule.Interleaved(2).actions(0, 1, 4))
                .isInstanceOf(TandemException.class).hasMessageContaining("needs pp >= 2");
        assertThatThrownBy(() -> Schedule.named("zigzag", 1)).isInstanceOf(TandemException.class).hasMessageContaining("gpipe, 1f1b or interleaved");
        assertThatThrownBy(() -> Schedule.named("1f1b", 2)).isInstanceOf(TandemException.class).hasMessageContaining("interleaved");
        assertThatThrownBy(() -> Schedule.named("interleaved", 1)).isInstanceOf(TandemException.class).hasMessageContaining(">= 2");
        assertThat(PipelineSchedule.of(Schedule.named("Interleaved", 3))).isEqualTo(new PipelineSchedule.Interleaved(3));
        assertThat(PipelineSchedule.of(new Schedule.GPipe())).isEqualTo(new PipelineSchedule.GPipe());
    }

    @Test
    void aScheduleThatWaitsForeverIsCaught() {
        StageLayout l = StageLayout.of(MODEL, 16, 2, 1, 4, 4);
        // Rank 1 wants micro-batch 1 before micro-batch 0, but rank 0 holds micro-batch 1 back until micro-batch 0's gradient returns.
        List<List<Action>> actions = List.of(
                List.of(Action.forward(0, 0), Action.backward(0, 0), Action.forward(1, 0), Action.backward(1, 0)),
                List.of(Action.forward(1, 0), Action.backward(1, 0), Action.forward(0, 0), Action.backward(0, 0)));
        assertThatThrownBy(() -> Timeline.simulate(l, actions, 2)).hasMessageContaining("rank 0 waits at B0").hasMessageContaining("rank 1 waits at F1");
        List<List<Action>> backwardFirst = List.of(
                List.of(Action.backward(0, 0), Action.forward(0, 0)), List.of(Action.forward(0, 0), Action.backward(0, 0)));
        assertThatThrownBy(() -> Timeline.simulate(l, backwardFirst, 1)).hasMessageContaining("before its forward pass");
    }
}
