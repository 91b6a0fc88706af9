package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.optim.AdamW;
import dev.tandem.optim.Optimizer;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The whole model run once with the reference kernels and once with the fast ones, the provider
 * being the only difference: a few AdamW steps, losses and every parameter's gradient compared.
 * This is what passing the provider in buys: the model, the ops and the optimizer take whichever
 * kernels they are given.
 *
 * <p>Tolerances: the two differ by float32 against double accumulation in every kernel. Over two
 * layers of a 32-wide model the gradients agree to about 2e-7 of the largest gradient and the
 * losses of three AdamW steps to about 1e-8 relative (measured with AVX-512); the test allows
 * 1e-5 and 1e-6, room for other vector widths' summation orders. A wrong kernel is off by far more.
 */
class ReferenceKernelsModelTest {
    private static final GPTConfig CONFIG = new GPTConfig(2, 2, 32, 64, 32);
    private static final int ROWS = 2, TIME = 20, STEPS = 3;

    @AfterEach
    void nothingLeaks() {
        assertThat(MemoryAccounting.current().live(MemoryCategory.ACTIVATIONS)).isZero();
    }

    @Test
    void referenceAndFastKernelsTrainTheSameModel() {
        Run ref = train(TestKernels.REFERENCE), fast = train(TestKernels.FAST);
        for (int s = 0; s < STEPS; s++) {
            assertThat(fast.losses.get(s)).as("loss at step %d", s + 1).isCloseTo(ref.losses.get(s), offset(1e-6 * ref.losses.get(s)));
        }
        float[] r = ref.firstGradients, f = fast.firstGradients;
        double largest = 0;
        for (float v : r) largest = Math.max(largest, Math.abs(v));
        for (int i = 0; i < r.length; i++) assertThat((double) f[i]).as("gradient element %d", i).isCloseTo(r[i], offset(1e-5 * largest));
    }

    private record Run(List<Double> losses, float[] firstGradients) {}

    private static Run train(Kernels kernels) {
        List<Double> losses = new ArrayList<>();
        float[] first = null;
        try (GPT model = GPT.initialized(CONFIG, 7);
             Tensor ids = tokens(3); Tensor targets = tokens(4);
             Optimizer opt = new AdamW(model.parameters(), AdamW.Settings.gpt(), kernels)) {
            for (int s = 0; s < STEPS; s++) {
                model.zeroGrad();
                try (Tape tape = new Tape(Hooks.NONE)) {
                    losses.add(model.loss(new Ops(tape, kernels), ids, targets, 1f));
                    tape.backward();
                }
                if (first == null) first = gradients(model);
                opt.step(1e-2f);
            }
        }
        return new Run(losses, first);
    }

    private static float[] gradients(GPT model) {
        int n = 0;
        for (Parameter p : model.parameters()) n += (int) p.numel();
        float[] all = new float[n];
        int at = 0;
        for (Parameter p : model.parameters()) {
            float[] g = p.grad().toFloatArray();
            System.arraycopy(g, 0, all, at, g.length);
            at += g.length;
        }
        return all;
    }

    private static Tensor tokens(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, ROWS, TIME);
        for (int i = 0; i < ROWS * TIME; i++) t.setInt(i, rng.nextInt(CONFIG.vocabSize()));
        return t;
    }
}
