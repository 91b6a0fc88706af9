package dev.tandem.parallel.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Parameter;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.TestKernels;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which layers each stage gets, by cost or by hand, and what a stage keeps in memory. */
class StageLayoutTest {
    private static final GPTConfig SMALL = new GPTConfig(4, 2, 32, 64, 16);

    @Test
    void equalLayersSplitEvenlyAndChunksInterleave() {
        assertThat(StageLayout.balanced(SMALL, 16, 2, 1)).hasToString("layers per stage [2, 2]");
        StageLayout v2 = StageLayout.balanced(SMALL, 16, 2, 2);
        assertThat(v2).hasToString("layers per stage [1, 1, 1, 1] (2 chunks per rank)");
        assertThat(v2.modulesOf(0)).containsExactly("embed", "h.0", "h.2");
        assertThat(v2.modulesOf(1)).containsExactly("h.1", "h.3", "head");
        assertThat(v2.rankOf(2)).isZero();
        assertThat(v2.chunkOf(2)).isEqualTo(1);
    }

    /**
     * A large vocabulary makes the output head cost about 2.5 layers (2·s·h·V against
     * 2s(12h²) + 4s²h FLOPs per sequence), so the last stage gets fewer layers: 5 + 3 gives a
     * maximum of 3 layers + head = 2.33 MFLOP against 2.56 for 6 + 2 and 2.75 for 4 + 4.
     */
    @Test
    void theHeadCountsByItsFlops() {
        GPTConfig bigVocab = new GPTConfig(8, 2, 32, 1024, 16);
        StageLayout l = StageLayout.balanced(bigVocab, 16, 2, 1);
        assertThat(l).hasToString("layers per stage [5, 3]");
        assertThat(l.forwardCost(0)).isEqualTo(5 * 425_984L);
        assertThat(l.forwardCost(1)).isEqualTo(3 * 425_984L + 2L * 16 * 32 * 1024);
    }

    @Test
    void badSplitsNameTheProblem() {
        assertThatThrownBy(() -> StageLayout.of(SMALL, 16, 2, 1, 3, 2)).isInstanceOf(TandemException.class)
                .hasMessageContaining("holds 5 layers but the model has n_layer = 4");
        assertThatThrownBy(() -> StageLayout.of(SMALL, 16, 2, 1, 4, 0)).isInstanceOf(TandemException.class)
                .hasMessageContaining("gives stage 1 0 layers");
        assertThatThrownBy(() -> StageLayout.of(SMALL, 16, 2, 2, 2, 2)).isInstanceOf(TandemException.class)
                .hasMessageContaining("has 2 entries but pp·virtual_stages = 2·2 = 4");
        assertThatThrownBy(() -> StageLayout.balanced(SMALL, 16, 4, 2)).isInstanceOf(TandemException.class)
                .hasMessageContaining("8 stages but the model has only n_layer = 4");
    }

    @Test
    void aStageFreesTheParametersItDoesNotHold() {
        List<ProcessGroup> world = LocalWorld.create(2, CommOptions.defaults());
        try (GPT model = GPT.initialized(SMALL, 1)) {
            long before = MemoryAccounting.current().live(MemoryCategory.PARAMETERS);
            StageLayout layout = StageLayout.balanced(SMALL, 16, 2, 1);
            try (Pipeline pipe = Pipeline.apply(model, world.get(1), layout, new PipelineSchedule.OneFOneB(), TestKernels.FAST)) {
                assertThat(pipe.modules()).containsExactly("h.2", "h.3", "head");
                long kept = 0;
                for (Parameter p : model.parameters()) {
                    boolean held = p.name().startsWith("h.2.") || p.name().startsWith("h.3.") || p.name().startsWith("ln_f.")
                            || p.name().equals("wte.weight");
                    assertThat(p.value() != null).as(p.name()).isEqualTo(held);
                    if (held) kept += p.numel() * 4;
                }
                long total = SMALL.totalParameters() * 4;
                assertThat(before - MemoryAccounting.current().live(MemoryCategory.PARAMETERS)).isEqualTo(total - kept);
            }
        } finally {
            world.forEach(ProcessGroup::close);
        }
    }

    @Test
    void theGroupMustMatchTheLayout() {
        List<ProcessGroup> world = LocalWorld.create(1, CommOptions.defaults());
        try (GPT model = GPT.initialized(SMALL, 1)) {
            assertThatThrownBy(() -> Pipeline.apply(model, world.getFirst(), StageLayout.balanced(SMALL, 16, 2, 1), new PipelineSchedule.GPipe(), TestKernels.FAST))
                    .isInstanceOf(TandemException.class).hasMessageContaining("pipeline group has 1 ranks but the stage layout has pp = 2");
            assertThatThrownBy(() -> Pipeline.apply(model, world.getFirst(), StageLayout.balanced(SMALL, 16, 1, 1), new PipelineSchedule.Interleaved(2), TestKernels.FAST))
                    .isInstanceOf(TandemException.class).hasMessageContaining("virtual_stages = 2");
        } finally {
            world.forEach(ProcessGroup::close);
        }
    }
}
