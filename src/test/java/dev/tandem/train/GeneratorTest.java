package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static final GPTConfig CFG = new GPTConfig(2, 4, 16, 23, 12);

    /** The cached incremental path gives the logits of a full forward pass at every position. */
    @Test
    void kvCacheMatchesFullForward() {
        int[] tokens = {3, 7, 1, 22, 0, 5, 5, 9};
        try (GPT model = GPT.initialized(CFG, 3);
             Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 1, tokens.length);
             Tape tape = Tape.inference()) {
            for (int i = 0; i < tokens.length; i++) ids.setInt(i, tokens[i]);
            float[] full = model.logits(new Ops(tape, TestKernels.FAST), ids).toFloatArray();
            Generator gen = new Generator(model, TestKernels.FAST);
            for (int t = 0; t < tokens.length; t++) {
                float[] step = gen.feed(tokens[t]);
                for (int v = 0; v < CFG.vocabSize(); v++) {
                    assertThat(step[v]).as("position %d logit %d", t, v)
                            .isCloseTo(full[t * CFG.vocabSize() + v], org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
        }
    }

    @Test
    void samplingIsSeededAndStopsAtContext() {
        try (GPT model = GPT.initialized(CFG, 3)) {
            List<Integer> a = new Generator(model, TestKernels.FAST).generate(new int[] {1, 2}, 50, new Sampler(1f, 5, 0.9f, 7), t -> { });
            List<Integer> b = new Generator(model, TestKernels.FAST).generate(new int[] {1, 2}, 50, new Sampler(1f, 5, 0.9f, 7), t -> { });
            assertThat(a).isEqualTo(b).hasSize(CFG.blockSize() - 2);
            List<Integer> streamed = new ArrayList<>();
            new Generator(model, TestKernels.FAST).generate(new int[] {4}, 3, new Sampler(0f, 0, 1f, 1), streamed::add);
            assertThat(streamed).hasSize(3);
        }
    }

    @Test
    void promptLongerThanContextIsAClearError() {
        try (GPT model = GPT.initialized(CFG, 3)) {
            assertThatThrownBy(() -> new Generator(model, TestKernels.FAST).generate(new int[13], 1, new Sampler(1f, 0, 1f, 1), t -> { }))
                    .isInstanceOf(TandemException.class).hasMessageContaining("block_size is 12");
        }
    }

    @Test
    void topKOneIsGreedy() {
        float[] logits = {0.1f, 3f, 2.9f, -1f};
        Sampler s = new Sampler(5f, 1, 1f, 11);
        for (int i = 0; i < 20; i++) assertThat(s.sample(logits)).isEqualTo(1);
        Sampler nucleus = new Sampler(1f, 0, 0.01f, 11);
        for (int i = 0; i < 20; i++) assertThat(nucleus.sample(logits)).isEqualTo(1);
    }
}
