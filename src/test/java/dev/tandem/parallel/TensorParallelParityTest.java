package dev.tandem.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Split;
import dev.tandem.tensor.MemoryAccounting;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tensor parallelism (with and without sequence parallelism, alone and under data parallelism at
 * every ZeRO stage) against one rank: the same gradients after one backward pass and the same
 * losses over 20 AdamW steps with clipping, on n_layer 2, n_head 4, n_embd 32, vocab 64, block 16,
 * batch 4.
 *
 * <p>Tolerances. Splitting an op across ranks changes only the order of float32 additions: the
 * row-parallel products and the input gradients of column-parallel ops are sums of two partial
 * GEMMs instead of one, the cross-entropy combines two log-sum-exps, and under sequence
 * parallelism the LayerNorm and bias gradients are sums of two row halves. Each such sum differs
 * from one rank's by a few ulp (~1e-7 relative); a gradient element is compared against 1e-5 of
 * the largest element of its tensor (what cancellation in a sum of ~n·C terms can make of a few
 * ulp), and 20 steps of AdamW carry the differences into the losses at ~1e-7 relative (measured),
 * so 1e-5 leaves a margin of 100. A real error is far larger: gradients of the replicated
 * parameters not summed across tp under sequence parallelism, or summed without it, move the
 * losses by 1e-3 to 1e-2 within 20 steps.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TensorParallelParityTest {
    private static final int STEPS = 20;
    private List<Double> reference;
    private Map<String, float[]> referenceGrads;

    @BeforeAll
    void oneRank() {
        reference = losses(1, 1, 0, false);
        assertThat(reference.getLast()).isLessThan(reference.getFirst() - 0.5); // it learns
        referenceGrads = new HashMap<>();
        LocalWorld.run(1, CommOptions.defaults(), world -> {
            try (TpRank r = new TpRank(GPT.initialized(TpRank.MODEL, TpRank.SEED), world, 1, 1, 0, false)) {
                r.backward(0);
                for (Parameter p : r.model.parameters()) referenceGrads.put(p.name(), p.grad().toFloatArray());
            }
        });
    }

    /** Rank 0's losses of {@link #STEPS} steps on a dp × tp mesh; checks that every off-heap byte is freed. */
    static List<Double> losses(int dp, int tp, int stage, boolean sp) {
        long live = MemoryAccounting.current().liveTotal();
        List<Double> out = Collections.synchronizedList(new ArrayList<>());
        LocalWorld.run(dp * tp, CommOptions.defaults(), world -> {
            try (TpRank r = new TpRank(GPT.initialized(TpRank.MODEL, TpRank.SEED), world, dp, tp, stage, sp)) {
                for (int s = 0; s < STEPS; s++) {
                    double l = r.step(s);
                    if (world.rank() == 0) out.add(l);
                }
            }
        });
        assertThat(MemoryAccounting.current().liveTotal()).as("off-heap bytes live after the run").isEqualTo(live);
        return out;
    }

    @ParameterizedTest(name = "dp {0} x tp {1}, ZeRO-{2}, sequence parallel {3}")
    @CsvSource({"1,2,0,false", "1,2,0,true", "2,2,0,false", "2,2,0,true", "2,2,1,true", "2,2,2,true", "2,2,3,true", "2,2,3,false"})
    void sameLossesAsOneRank(int dp, int tp, int stage, boolean sp) {
        List<Double> losses = losses(dp, tp, stage, sp);
        assertThat(losses).hasSize(STEPS);
        for (int i = 0; i < STEPS; i++) {
            double rel = Math.abs(losses.get(i) - reference.get(i)) / reference.get(i);
            assertThat(rel).as("step %d: %s vs one rank %s", i + 1, losses.get(i), reference.get(i)).isLessThan(1e-5);
        }
    }

    @ParameterizedTest(name = "sequence parallel {0}")
    @ValueSource(booleans = {false, true})
    void sameGradientsAsOneRankAfterOneBackward(boolean sp) {
        LocalWorld.run(2, CommOptions.defaults(), world -> {
            try (TpRank r = new TpRank(GPT.initialized(TpRank.MODEL, TpRank.SEED), world, 1, 2, 0, sp)) {
                r.backward(0);
                for (Parameter p : r.model.parameters()) {
                    float[] whole = referenceGrads.get(p.name()), mine = p.grad().toFloatArray();
                    float max = 0;
                    for (float v : whole) max = Math.max(max, Math.abs(v));
                    Split split = p.split();
                    assertThat(split.isWhole()).as(p.name() + " split").isEqualTo(!isSplitByThePlan(p.name()));
                    for (Split.Run run : split.runs(0, p.numel())) {
                        for (int i = 0; i < run.length(); i++) {
                            float a = mine[(int) (run.local() + i)], b = whole[(int) (run.full() + i)];
                            assertThat(Math.abs(a - b)).as("%s element %d on rank %d", p.name(), run.full() + i, world.rank())
                                    .isLessThanOrEqualTo(1e-5f * max);
                        }
                    }
                }
            }
        });
    }

    private static boolean isSplitByThePlan(String name) {
        return name.equals("wte.weight") || name.contains("c_attn") || name.contains("c_fc") || name.endsWith("c_proj.weight");
    }
}
