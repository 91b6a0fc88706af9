package dev.tandem.tensor;

import static dev.tandem.tensor.AttentionParityTest.assertCloseRel;
import static dev.tandem.tensor.KernelParityTest.copy;
import static dev.tandem.tensor.KernelParityTest.random;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.AfterEach;

/**
 * The fast optimizer updates against the reference over several steps, on random parameters and
 * gradients (a fresh gradient each step), lengths that cross the vector width and the split across
 * threads. Tolerances: each step rounds every state and parameter element to float32 once per
 * operation in the fast kernel, once in all in the reference, so they drift apart by a few float
 * ulps of values of order 1 per step (2e-6 absolute plus 1e-5 relative after three steps). AdamW
 * divides by √v + ε with v as small as (1−β2)·g², which the second moment's float rounding
 * perturbs by one ulp: its parameters get 1e-5 relative to the step lr.
 */
class OptimizerKernelParityTest {
    private static final int STEPS = 3;
    private final OptimizerKernels fast = TestKernels.FAST.optimizer();
    private final OptimizerKernels ref = Kernels.reference().optimizer();

    @AfterEach
    void noLeaks() {
        assertThat(MemoryAccounting.current().live(MemoryCategory.OTHER)).isZero();
    }

    @Property(tries = 20)
    void adamW(@ForAll @IntRange(min = 0, max = 40_000) int n) {
        SplittableRandom rng = new SplittableRandom(n);
        try (Tensor p1 = random(rng, n); Tensor p2 = copy(p1); Tensor g = random(rng, n);
             Tensor m1 = Tensor.zeros(MemoryCategory.OTHER, n); Tensor m2 = Tensor.zeros(MemoryCategory.OTHER, n);
             Tensor v1 = Tensor.zeros(MemoryCategory.OTHER, n); Tensor v2 = Tensor.zeros(MemoryCategory.OTHER, n)) {
            for (int t = 1; t <= STEPS; t++) {
                refill(rng, g);
                var step = new OptimizerKernels.AdamW(0.9f, 0.95f, 1e-8f, 0.01f, 1f - 0.01f * 0.1f, t);
                fast.adamW(p1.data(), g.data(), m1.data(), v1.data(), n, step);
                ref.adamW(p2.data(), g.data(), m2.data(), v2.data(), n, step);
            }
            assertCloseRel(m1, m2, 2e-6, 1e-5);
            assertCloseRel(v1, v2, 2e-6, 1e-5);
            assertCloseRel(p1, p2, 2e-6 + 1e-5 * 0.01 * STEPS, 1e-5);
        }
    }

    @Property(tries = 20)
    void lion(@ForAll @IntRange(min = 0, max = 40_000) int n) {
        SplittableRandom rng = new SplittableRandom(n + 1);
        try (Tensor p1 = random(rng, n); Tensor p2 = copy(p1); Tensor g = random(rng, n);
             Tensor m1 = random(rng, n); Tensor m2 = copy(m1)) {
            for (int t = 1; t <= STEPS; t++) {
                refill(rng, g);
                fast.lion(p1.data(), g.data(), m1.data(), n, 1e-3f, 1f - 1e-3f, 0.9f, 0.99f);
                ref.lion(p2.data(), g.data(), m2.data(), n, 1e-3f, 1f - 1e-3f, 0.9f, 0.99f);
            }
            assertCloseRel(m1, m2, 2e-6, 1e-5);
            assertCloseRel(p1, p2, 2e-6, 1e-5);
        }
    }

    @Property(tries = 20)
    void sgd(@ForAll @IntRange(min = 0, max = 40_000) int n, @ForAll boolean nesterov) {
        SplittableRandom rng = new SplittableRandom(n + 2);
        try (Tensor p1 = random(rng, n); Tensor p2 = copy(p1); Tensor g = random(rng, n); Tensor g0 = copy(g);
             Tensor b1 = Tensor.zeros(MemoryCategory.OTHER, n); Tensor b2 = Tensor.zeros(MemoryCategory.OTHER, n)) {
            for (int t = 1; t <= STEPS; t++) {
                refill(rng, g);
                g0.copyFrom(g);
                fast.sgd(p1.data(), g.data(), b1.data(), n, 0.05f, 0.1f, 0.9f, nesterov);
                ref.sgd(p2.data(), g.data(), b2.data(), n, 0.05f, 0.1f, 0.9f, nesterov);
                assertThat(g.toFloatArray()).as("the gradient is left as it was").isEqualTo(g0.toFloatArray());
            }
            assertCloseRel(b1, b2, 2e-6, 1e-5);
            assertCloseRel(p1, p2, 2e-6, 1e-5);
        }
    }

    private static void refill(SplittableRandom rng, Tensor g) {
        for (long i = 0; i < g.numel(); i++) g.set(i, (float) (rng.nextDouble() * 2 - 1));
    }
}
