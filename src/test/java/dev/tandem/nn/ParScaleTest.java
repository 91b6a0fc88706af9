package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import dev.tandem.train.Generator;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** ParScale on a whole GPT: one stream is GPT-2, the aggregation's weights, one batched pass, and cached decoding. */
class ParScaleTest {
    private static final GPTConfig BASE = new GPTConfig(2, 2, 16, 30, 10);

    private static Tensor tokens(int batch, int time, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(DType.I32, MemoryCategory.OTHER, batch, time);
        for (int i = 0; i < batch * time; i++) t.setInt(i, rng.nextInt(30));
        return t;
    }

    private static float[] logits(GPT model, Tensor ids) {
        try (Tape tape = Tape.inference()) {
            return model.logits(new Ops(tape, TestKernels.FAST), ids).toFloatArray();
        }
    }

    @Test
    void oneStreamIsTheBaseModelExactly() {
        GPTConfig one = BASE.withParScale(1, ParScale.DEFAULT_PREFIX);
        assertThat(one).isEqualTo(BASE);
        try (GPT base = GPT.initialized(BASE, 4); GPT p1 = GPT.initialized(one, 4); Tensor ids = tokens(2, 10, 1)) {
            assertThat(p1.parameters()).hasSameSizeAs(base.parameters());
            assertThat(logits(p1, ids)).isEqualTo(logits(base, ids));
        }
        assertThat(BASE.withParScale(4, 48).parScaleParameters())
                .isEqualTo(2L * 2 * 4 * 48 * 16 + (4L * 16 * 16 + 16) + (16L * 4 + 4));
    }

    /** Large random aggregation weights push the softmax to its extremes; smoothing still leaves every stream ε/P. */
    @Test
    void aggregationWeightsSumToOneAndKeepEveryStream() {
        int streams = 4;
        try (GPT model = GPT.initialized(BASE.withParScale(streams, 3), 5); Tape tape = Tape.inference()) {
            SplittableRandom rng = new SplittableRandom(6);
            for (String n : new String[] {"aggregate.0.weight", "aggregate.2.weight"}) {
                Tensor w = model.param(n).value();
                for (long i = 0; i < w.numel(); i++) w.set(i, (float) (rng.nextGaussian() * 5));
            }
            Var h = tape.activation(streams * 20, 16);
            for (long i = 0; i < h.value().numel(); i++) h.value().set(i, (float) rng.nextGaussian());
            float[] w = ParScale.weights(new Ops(tape, TestKernels.FAST), h, model).value().toFloatArray();
            float floor = ParScale.SMOOTHING / streams;
            float smallest = 1;
            for (int r = 0; r < 20; r++) {
                double sum = 0;
                for (int p = 0; p < streams; p++) {
                    float v = w[r * streams + p];
                    assertThat(v).isGreaterThanOrEqualTo(floor);
                    smallest = Math.min(smallest, v);
                    sum += v;
                }
                assertThat(sum).isCloseTo(1.0, offset(1e-6));
            }
            assertThat(smallest).as("some weight sits at the floor").isCloseTo(floor, offset(1e-4f));
        }
    }

    /** The P streams are one batch of P·B sequences: each block runs once per forward, not P times. */
    @Test
    void streamsRunAsOneBatchedPass() {
        AtomicInteger blockRuns = new AtomicInteger();
        Hooks count = new Hooks() {
            @Override
            public void beforeForward(String module) {
                if (module.equals("h.0")) blockRuns.incrementAndGet();
            }
        };
        try (GPT model = GPT.initialized(BASE.withParScale(3, 4), 7); Tensor ids = tokens(2, 10, 2); Tensor targets = tokens(2, 10, 3);
             Tape tape = new Tape(count)) {
            double loss = model.loss(new Ops(tape, TestKernels.FAST), ids, targets, 1f);
            tape.backward();
            assertThat(blockRuns.get()).isEqualTo(1);
            assertThat(loss).isCloseTo(Math.log(30), offset(0.5));
            assertThat(model.param("h.1.attn.prefix_k").gradOrNull()).isNotNull();
            assertThat(model.param("aggregate.0.weight").gradOrNull()).isNotNull();
        }
    }

    /** Cached decoding of a P = 3 model (a cache per stream, starting with its prefix) gives the full forward's logits at every position. */
    @Test
    void generationWithStreamsEqualsTheFullForward() {
        int vocab = BASE.vocabSize();
        try (GPT model = GPT.initialized(BASE.withParScale(3, 4), 8); Tensor ids = tokens(1, 10, 4)) {
            float[] full = logits(model, ids);
            Generator g = new Generator(model, TestKernels.FAST);
            for (int t = 0; t < 10; t++) {
                float[] step = g.feed(ids.getInt(t));
                for (int v = 0; v < vocab; v++) assertThat(step[v]).as("position %d, token %d", t, v).isCloseTo(full[t * vocab + v], offset(2e-5f));
            }
        }
    }
}
