package dev.tandem.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Tape;
import dev.tandem.nn.Var;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The vocabulary-parallel output head and cross-entropy against the plain one on the same inputs:
 * the same mean loss, input gradient and token-embedding gradient (each rank's vocabulary rows),
 * with rows whose target is ignored (-1), targets in every rank's range, and logits large enough
 * that the log-sum-exp must be shifted. Under sequence parallelism each rank passes its own rows
 * of the input and receives their gradient.
 *
 * <p>Tolerance: the split computes the same logits (one dot product per entry, same order), so
 * only the combination of the ranks' log-sum-exps differs by float32 rounding: 1e-6 relative to
 * the loss and to each gradient's largest element.
 */
class VocabParallelCrossEntropyTest {
    private static final GPTConfig MODEL = new GPTConfig(1, 4, 32, 64, 16);
    private static final int ROWS = 24;

    /** Loss, input gradient and wte gradient of one rank's view; x rows and wte rows as that rank holds them. */
    private record Result(double loss, float[] dx, float[] dWte) {}

    @ParameterizedTest(name = "tp {0}, sequence parallel {1}")
    @CsvSource({"2,false", "2,true", "4,false", "4,true"})
    void matchesThePlainCrossEntropy(int tp, boolean sp) {
        long live = MemoryAccounting.current().liveTotal();
        float[] x = new float[ROWS * MODEL.nEmbd()];
        int[] targets = new int[ROWS];
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian() * 40f; // logits of order 10: the shift matters
        for (int r = 0; r < ROWS; r++) targets[r] = r % 5 == 0 ? -1 : rng.nextInt(MODEL.vocabSize());
        Result whole;
        try (GPT model = GPT.initialized(MODEL, 1)) {
            whole = run(model.param("wte.weight"), x, targets);
        }
        LocalWorld.run(tp, CommOptions.defaults(), world -> {
            try (GPT model = GPT.initialized(MODEL, 1)) {
                TensorParallel.apply(model, world, sp);
                int rows = sp ? ROWS / tp : ROWS, first = sp ? rows * world.rank() : 0, c = MODEL.nEmbd();
                Result mine = run(model.param("wte.weight"), Arrays.copyOfRange(x, first * c, (first + rows) * c), targets);
                assertThat(Math.abs(mine.loss() - whole.loss())).isLessThan(1e-6 * whole.loss());
                assertClose(mine.dx(), Arrays.copyOfRange(whole.dx(), first * c, (first + rows) * c), "input gradient");
                int part = MODEL.vocabSize() / tp;
                assertClose(mine.dWte(), Arrays.copyOfRange(whole.dWte(), world.rank() * part * c, (world.rank() + 1) * part * c), "wte gradient");
            }
        });
        assertThat(MemoryAccounting.current().liveTotal()).isEqualTo(live);
    }

    private static Result run(Parameter wte, float[] x, int[] targets) {
        try (Tape tape = new Tape(Hooks.NONE);
             Tensor t = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, targets.length)) {
            for (int i = 0; i < targets.length; i++) t.setInt(i, targets[i]);
            Var in = tape.activation(x.length / MODEL.nEmbd(), MODEL.nEmbd());
            in.value().copyFrom(x);
            double loss = new Ops(tape, TestKernels.FAST).tiedCrossEntropy(in, wte, t, 1f);
            tape.backward();
            return new Result(loss, in.grad().toFloatArray(), wte.grad().toFloatArray());
        }
    }

    private static void assertClose(float[] actual, float[] expected, String what) {
        assertThat(actual).hasSameSizeAs(expected);
        float max = 0;
        for (float v : expected) max = Math.max(max, Math.abs(v));
        assertThat(max).isPositive();
        for (int i = 0; i < actual.length; i++) {
            assertThat(Math.abs(actual[i] - expected[i])).as("%s element %d", what, i).isLessThanOrEqualTo(1e-6f * max);
        }
    }
}
