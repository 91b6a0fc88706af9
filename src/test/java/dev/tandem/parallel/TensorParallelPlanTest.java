package dev.tandem.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Split;
import dev.tandem.plan.ZeroStage;
import dev.tandem.tensor.TestKernels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the tensor-parallel plan splits, how a part maps into the whole tensor, and what it refuses. */
class TensorParallelPlanTest {

    @Test
    void aQkvPartTakesItsColumnsFromEachOfQKAndV() {
        // c_attn of n_embd 4: columns q0..q3 | k0..k3 | v0..v3; rank 1 of 2 holds q2 q3 k2 k3 v2 v3 of each row.
        Split s = new Split(new int[] {2, 12}, 1, 3, 1, 2);
        assertThat(s.localShape()).containsExactly(2, 6);
        List<Long> full = new ArrayList<>();
        for (Split.Run r : s.runs(0, 12)) for (long i = 0; i < r.length(); i++) full.add(r.full() + i);
        assertThat(full).containsExactly(2L, 3L, 6L, 7L, 10L, 11L, 14L, 15L, 18L, 19L, 22L, 23L);
        assertThat(s.runs(3, 4)).containsExactly(new Split.Run(3, 7, 1), new Split.Run(4, 10, 2), new Split.Run(6, 14, 1));
    }

    @Test
    void splitsTheMegatronLayoutAndNothingElse() {
        LocalWorld.run(2, CommOptions.defaults(), world -> {
            try (GPT model = GPT.initialized(new GPTConfig(1, 4, 16, 32, 8), 1)) {
                TensorParallel.apply(model, world, false);
                for (Parameter p : model.parameters()) {
                    Split s = p.split();
                    String expected = switch (p.name()) {
                        case "wte.weight" -> "part " + world.rank() + "/2 of dim 0 of [32, 16]";
                        case "h.0.attn.c_attn.weight" -> "part " + world.rank() + "/2 of dim 1 (3 blocks) of [16, 48]";
                        case "h.0.attn.c_attn.bias" -> "part " + world.rank() + "/2 of dim 0 (3 blocks) of [48]";
                        case "h.0.mlp.c_fc.weight" -> "part " + world.rank() + "/2 of dim 1 of [16, 64]";
                        case "h.0.mlp.c_fc.bias" -> "part " + world.rank() + "/2 of dim 0 of [64]";
                        case "h.0.attn.c_proj.weight" -> "part " + world.rank() + "/2 of dim 0 of [16, 16]";
                        case "h.0.mlp.c_proj.weight" -> "part " + world.rank() + "/2 of dim 0 of [64, 16]";
                        default -> "whole" + java.util.Arrays.toString(p.shape());
                    };
                    assertThat(s).as(p.name()).hasToString(expected);
                    assertThat(p.shape()).as(p.name()).isEqualTo(s.localShape());
                }
            }
        });
    }

    @Test
    void gatherModelReassemblesTheWholeTensorsOnEveryRank() {
        GPTConfig config = new GPTConfig(1, 4, 16, 32, 8);
        LocalWorld.run(2, CommOptions.defaults(), world -> {
            try (GPT model = GPT.initialized(config, 1); GPT expected = GPT.initialized(config, 1)) {
                TensorParallel tp = TensorParallel.apply(model, world, true);
                try (GPT whole = tp.gatherModel()) {
                    for (Parameter p : expected.parameters()) {
                        assertThat(whole.param(p.name()).value().toFloatArray()).as(p.name()).isEqualTo(p.value().toFloatArray());
                    }
                }
            }
        });
    }

    @Test
    void refusesHeadsOrVocabularyThatDoNotDivideAndASecondStrategyFirst() {
        LocalWorld.run(2, CommOptions.defaults(), world -> {
            try (GPT heads = GPT.initialized(new GPTConfig(1, 3, 12, 32, 8), 1);
                 GPT vocab = GPT.initialized(new GPTConfig(1, 4, 16, 33, 8), 1);
                 GPT wrapped = GPT.initialized(new GPTConfig(1, 4, 16, 32, 8), 1);
                 DataParallel dp = DataParallel.apply(wrapped, world, ZeroStage.ZERO0, TestKernels.FAST)) {
                assertThatThrownBy(() -> TensorParallel.apply(heads, world, false)).isInstanceOf(TandemException.class)
                        .hasMessageContaining("n_head = 3").hasMessageContaining("choose tp dividing n_head");
                assertThatThrownBy(() -> TensorParallel.apply(vocab, world, false)).isInstanceOf(TandemException.class)
                        .hasMessageContaining("vocab_size = 33").hasMessageContaining("pad vocab_size to a multiple of 2 (e.g. 34");
                assertThatThrownBy(() -> TensorParallel.apply(wrapped, world, false))
                        .hasMessageContaining("apply tensor parallelism before DataParallel.apply");
            }
        });
    }
}
