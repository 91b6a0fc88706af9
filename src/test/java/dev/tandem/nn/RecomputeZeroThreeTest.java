package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.optim.ParamSlice;
import dev.tandem.parallel.DataParallel;
import dev.tandem.plan.Recompute;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.plan.ZeroStage;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Full recomputation under data parallelism with ZeRO-3 (2 ranks as threads, 2 micro-batches):
 * parameters are sharded and gathered around each module's forward and backward, so the replayed
 * forward only works if it runs while the block is gathered for its backward. Against the same
 * job with selective recomputation the losses and the final parameter shards are bit-identical
 * (the same arithmetic and the same collectives); against one rank running the whole batch the
 * losses agree within rounding: two ranks average half-batch gradients where one rank sums all
 * rows in one GEMM, a reordering of float32 additions worth a few ulp per step, which three SGD
 * steps on a tiny model keep far below the 1e-5 relative allowed (a missing gradient, or one
 * counted twice, moves the loss by far more).
 */
class RecomputeZeroThreeTest {
    private static final GPTConfig CONFIG = new GPTConfig(2, 2, 32, 64, 32);
    private static final int RANKS = 2, MICRO_BATCHES = 2, ROWS = 2, TIME = 16, STEPS = 3;
    private static final int GLOBAL_ROWS = RANKS * MICRO_BATCHES * ROWS;
    private static final float LR = 0.1f;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** One rank's losses, final parameter shard and the hook events it saw. */
    private record RankRun(List<Double> losses, List<float[]> shard, List<String> moduleEvents, Map<String, Integer> ready) {}

    @Test
    void fullRecomputeUnderZeroThreeMatchesSelectiveAndOneRank() {
        int[][] data = data();
        RankRun[] selective = dataParallel(RecomputePolicy.SELECTIVE, data);
        RankRun[] full = dataParallel(RecomputePolicy.every(Recompute.FULL), data);
        List<Double> oneRank = oneRank(data);
        for (int r = 0; r < RANKS; r++) {
            assertThat(full[r].losses()).as("rank %d losses", r).isEqualTo(selective[r].losses());
            assertThat(full[r].shard()).as("rank %d parameter shard", r).containsExactlyElementsOf(selective[r].shard());
            assertThat(full[r].moduleEvents()).as("rank %d module events", r).isEqualTo(selective[r].moduleEvents());
            assertThat(full[r].ready()).as("rank %d gradient-ready events", r).hasSize(CONFIG.nLayer() * 12 + 4)
                    .allSatisfy((name, n) -> assertThat(n).as(name).isEqualTo(STEPS * MICRO_BATCHES));
            for (int s = 0; s < STEPS; s++) {
                double rel = Math.abs(full[r].losses().get(s) - oneRank.get(s)) / oneRank.get(s);
                assertThat(rel).as("step %d: %s vs one rank %s", s + 1, full[r].losses().get(s), oneRank.get(s)).isLessThan(1e-5);
            }
        }
        assertThat(oneRank.getLast()).isLessThan(oneRank.getFirst()); // the steps do train (on one batch)
    }

    /** Token ids (0) and targets (1) of all {@link #GLOBAL_ROWS} sequences, row-major; every step trains on them. */
    private static int[][] data() {
        SplittableRandom rng = new SplittableRandom(5);
        int[][] out = new int[2][GLOBAL_ROWS * TIME];
        for (int[] t : out) for (int i = 0; i < t.length; i++) t[i] = rng.nextInt(CONFIG.vocabSize());
        return out;
    }

    private static RankRun[] dataParallel(RecomputePolicy policy, int[][] data) {
        RankRun[] runs = new RankRun[RANKS];
        LocalWorld.run(RANKS, CommOptions.defaults(), group -> {
            List<Double> losses = new ArrayList<>();
            List<String> events = new ArrayList<>();
            Map<String, Integer> ready = new TreeMap<>();
            try (GPT model = GPT.initialized(CONFIG, 9);
                 DataParallel dp = DataParallel.apply(model, group, ZeroStage.ZERO3, TestKernels.FAST);
                 Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, ROWS, TIME);
                 Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, ROWS, TIME)) {
                Hooks hooks = recording(dp, events, ready);
                for (int step = 0; step < STEPS; step++) {
                    dp.zeroGrad();
                    double loss = 0;
                    for (int micro = 0; micro < MICRO_BATCHES; micro++) {
                        int firstRow = (group.rank() * MICRO_BATCHES + micro) * ROWS;
                        fill(ids, data[0], firstRow);
                        fill(targets, data[1], firstRow);
                        dp.beginMicroBatch(micro, MICRO_BATCHES);
                        try (Tape tape = new Tape(hooks)) {
                            loss += model.loss(new Ops(tape, TestKernels.FAST).withRecompute(policy), ids, targets, 1f / MICRO_BATCHES);
                            tape.backward();
                        }
                    }
                    dp.finishGradients();
                    losses.add(dp.average(loss / MICRO_BATCHES));
                    for (ParamSlice s : dp.optimizerSlices()) sgd(s.value(), s.grad(), s.length());
                    dp.afterOptimizerStep();
                }
                List<float[]> shard = dp.optimizerSlices().stream().map(s -> s.value().toArray(F)).toList();
                runs[group.rank()] = new RankRun(losses, shard, events, ready);
            }
        });
        return runs;
    }

    private static List<Double> oneRank(int[][] data) {
        List<Double> losses = new ArrayList<>();
        try (GPT model = GPT.initialized(CONFIG, 9);
             Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, GLOBAL_ROWS, TIME);
             Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, GLOBAL_ROWS, TIME)) {
            for (int step = 0; step < STEPS; step++) {
                model.zeroGrad();
                fill(ids, data[0], 0);
                fill(targets, data[1], 0);
                try (Tape tape = new Tape(Hooks.NONE)) {
                    losses.add(model.loss(new Ops(tape, TestKernels.FAST), ids, targets, 1f));
                    tape.backward();
                }
                for (Parameter p : model.parameters()) sgd(p.value().data(), p.grad().data(), p.numel());
            }
        }
        return losses;
    }

    private static void fill(Tensor t, int[] values, int firstRow) {
        for (int i = 0; i < t.numel(); i++) t.setInt(i, values[firstRow * TIME + i]);
    }

    private static void sgd(MemorySegment value, MemorySegment grad, long n) {
        for (long i = 0; i < n; i++) value.setAtIndex(F, i, value.getAtIndex(F, i) - LR * grad.getAtIndex(F, i));
    }

    /** {@code dp}'s hooks, also recording module events and counting gradient-ready events per parameter. */
    private static Hooks recording(DataParallel dp, List<String> events, Map<String, Integer> ready) {
        return new Hooks() {
            @Override
            public void beforeForward(String module) {
                events.add("forward " + module);
                dp.beforeForward(module);
            }

            @Override
            public void afterForward(String module) {
                events.add("forward done " + module);
                dp.afterForward(module);
            }

            @Override
            public void beforeBackward(String module) {
                events.add("backward " + module);
                dp.beforeBackward(module);
            }

            @Override
            public void afterBackward(String module) {
                events.add("backward done " + module);
                dp.afterBackward(module);
            }

            @Override
            public void onGradientReady(Parameter p) {
                ready.merge(p.name(), 1, Integer::sum);
                dp.onGradientReady(p);
            }
        };
    }
}
