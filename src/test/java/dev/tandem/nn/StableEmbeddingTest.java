package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stable-embedding option of GPT: off by default, its initialisation and its forward formula. */
class StableEmbeddingTest {
    private static final GPTConfig PLAIN = new GPTConfig(1, 2, 8, 40, 4);
    private static final GPTConfig STABLE = new GPTConfig(1, 2, 8, 40, 4, true);

    @Test
    void offByDefaultAndAddsOnlyTheNorm() {
        assertThat(PLAIN.stableEmbedding()).isFalse();
        try (GPT plain = GPT.initialized(PLAIN, 1); GPT stable = GPT.initialized(STABLE, 1)) {
            List<String> names = plain.parameters().stream().map(Parameter::name).toList();
            assertThat(names).noneMatch(n -> n.startsWith("wte_norm"));
            assertThat(stable.parameters()).extracting(Parameter::name).containsAll(names).contains("wte_norm.weight", "wte_norm.bias");
            assertThat(STABLE.totalParameters() - PLAIN.totalParameters()).isEqualTo(2L * PLAIN.nEmbd());
            long total = 0;
            for (Parameter p : stable.parameters()) total += p.numel();
            assertThat(total).isEqualTo(STABLE.totalParameters());
            // every parameter but wte starts as in the plain model
            for (String n : names) {
                if (!n.equals("wte.weight")) assertThat(stable.param(n).value().toFloatArray()).as(n).isEqualTo(plain.param(n).value().toFloatArray());
            }
        }
    }

    /** wte ~ U(−a, a) with a = √(6 / (vocab + n_embd)); the norm starts as the identity (gain 1, bias 0). */
    @Test
    void xavierUniformTableAndIdentityNorm() {
        try (GPT model = GPT.initialized(STABLE, 1)) {
            double a = Math.sqrt(6.0 / (40 + 8)), sq = 0;
            Tensor wte = model.param("wte.weight").value();
            for (float x : wte.toFloatArray()) {
                assertThat((double) Math.abs(x)).isLessThanOrEqualTo(a);
                sq += x * x;
            }
            assertThat(sq / wte.numel()).isCloseTo(a * a / 3, offset(0.25 * a * a / 3)); // variance of U(−a, a)
            assertThat(model.param("wte_norm.weight").value().toFloatArray()).containsOnly(1f);
            assertThat(model.param("wte_norm.bias").value().toFloatArray()).containsOnly(0f);
        }
    }

    /** x[b, t] = LayerNorm(wte[id]) + wpe[offset + t]: the positions are added after the norm. */
    @Test
    void embedsNormalizedTokensPlusPositions() {
        int c = STABLE.nEmbd(), offset = 1;
        int[] tokens = {3, 39, 0, 3};
        try (GPT model = GPT.initialized(STABLE, 2);
             Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 2, 2);
             Tape tape = Tape.inference()) {
            for (int i = 0; i < tokens.length; i++) ids.setInt(i, tokens[i]);
            for (int i = 0; i < c; i++) { // a gain and bias that are not the identity
                model.param("wte_norm.weight").value().set(i, 0.5f + i);
                model.param("wte_norm.bias").value().set(i, -0.1f * i);
            }
            float[] x = model.embed(new Ops(tape, TestKernels.FAST), ids, offset).value().toFloatArray();
            Tensor wte = model.param("wte.weight").value(), wpe = model.param("wpe.weight").value();
            for (int row = 0; row < tokens.length; row++) {
                double mean = 0, var = 0;
                for (int i = 0; i < c; i++) mean += wte.get((long) tokens[row] * c + i) / c;
                for (int i = 0; i < c; i++) var += Math.pow(wte.get((long) tokens[row] * c + i) - mean, 2) / c;
                for (int i = 0; i < c; i++) {
                    double norm = (wte.get((long) tokens[row] * c + i) - mean) / Math.sqrt(var + GPT.LN_EPS) * (0.5 + i) - 0.1 * i;
                    double expected = norm + wpe.get((long) (offset + row % 2) * c + i);
                    assertThat((double) x[row * c + i]).as("row %d, feature %d", row, i).isCloseTo(expected, offset(1e-5));
                }
            }
        }
    }
}
