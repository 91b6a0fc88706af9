package dev.tandem.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The planner, calibrated once on this machine, through the API: its plans are plans the training runs. */
class PlannerTest {
    private static final ModelShape TINY = ModelShape.of(1, 2, 32, 16);
    private static Planner planner;

    @TempDir Path tmp;

    @BeforeAll
    static void calibrate() {
        planner = Planner.forThisMachine(2);
    }

    @Test
    void bestAndRankedPlansFitAndUseTheRanks() {
        PlanPrediction best = planner.best(TINY, 64, 8);
        assertThat(best.plan().ranks()).isEqualTo(2);
        assertThat(best.fits()).isTrue();
        assertThat(best.stepMillis()).isPositive();
        assertThat(best.memoryBytesPerRank()).isPositive();
        List<PlanPrediction> ranked = planner.ranked(TINY, 64, 8, 3);
        assertThat(ranked).isNotEmpty().hasSizeLessThanOrEqualTo(3).allMatch(p -> p.plan().ranks() == 2 && p.fits());
        assertThat(ranked).extracting(PlanPrediction::stepMillis).isSorted();
        assertThat(ranked.getFirst().stepMillis()).isEqualTo(best.stepMillis());
        assertThat(planner.ranks()).isEqualTo(2);
    }

    @Test
    void predictsAGivenPlan() {
        PlanPrediction p = planner.predict(ParallelPlan.parse("dp=2 zero=1"), TINY, 64, 8);
        assertThat(p.plan().zeroStage()).isEqualTo(1);
        assertThat(p.fits()).isTrue();
        assertThat(planner.withOptimizer("lion").predict(ParallelPlan.parse("dp=2 zero=1"), TINY, 64, 8).plan().label())
                .contains("optimizer=lion");
        assertThatThrownBy(() -> planner.predict(ParallelPlan.single(), TINY, 64, 8)).isInstanceOf(TandemException.class)
                .hasMessageContaining("needs 1 ranks but this planner plans for 2");
    }

    @Test
    void badPlannerInput() {
        assertThatThrownBy(() -> Planner.forThisMachine(0)).isInstanceOf(TandemException.class).hasMessageContaining("at least 1 rank");
        assertThatThrownBy(() -> planner.best(TINY, 0, 8)).hasMessageContaining("vocabulary size must be positive");
        assertThatThrownBy(() -> planner.best(TINY, 64, 0)).hasMessageContaining("global batch must be positive");
        assertThatThrownBy(() -> planner.ranked(TINY, 64, 8, 0)).hasMessageContaining("top must be >= 1");
        assertThatThrownBy(() -> planner.withOptimizer("adamx")).hasMessageContaining("'adamx'");
    }

    /** The planner's best plan is one the training accepts and runs, on 2 ranks as threads. */
    @Test
    void thePlannersBestPlanTrains() {
        ParallelPlan plan = planner.best(TINY, 64, 8).plan();
        int[] ids = new int[400];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 5 + i / 7) % 64;
        TrainingResult r = Training.builder().model(TINY).data(Dataset.fromTokens(ids, 64)).plan(plan).batchSize(8).steps(2)
                .evalEvery(0).evalBatches(1).runsDir(tmp).name("planned").threads(1).quiet().build().run();
        assertThat(r.steps()).hasSize(2);
        assertThat(r.steps()).allMatch(s -> Double.isFinite(s.loss()));
    }
}
