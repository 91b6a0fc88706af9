package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.plan.RecomputePolicy;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Packed documents compute what the documents compute one by one: the mean loss over all tokens
 * and every parameter's gradient (tolerance: float reordering, 2e-5 relative to the largest
 * element), with the fast and the reference kernels, with attention probabilities kept or
 * recomputed, and with the stable embedding (whose positions are added in another op).
 */
class PackedDocumentsTest {
    /** Two rows of 16 tokens: documents of 5, 9 and 2 tokens, then 7 and 9. */
    private static final int[][] LENGTHS = {{5, 9, 2}, {7, 9}};
    private static final int TIME = 16, VOCAB = 50;

    static List<Arguments> cases() {
        return List.of(Arguments.of("fast", TestKernels.FAST, RecomputePolicy.SELECTIVE, false),
                Arguments.of("reference", TestKernels.REFERENCE, RecomputePolicy.SELECTIVE, false),
                Arguments.of("kept probabilities", TestKernels.FAST, RecomputePolicy.every(dev.tandem.plan.Recompute.NONE), false),
                Arguments.of("full recompute", TestKernels.FAST, RecomputePolicy.every(dev.tandem.plan.Recompute.FULL), false),
                Arguments.of("stable embedding", TestKernels.FAST, RecomputePolicy.SELECTIVE, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void packedEqualsDocumentsOneByOne(String name, Kernels kernels, RecomputePolicy recompute, boolean stable) {
        GPTConfig config = new GPTConfig(2, 2, 16, VOCAB, 32, stable);
        SplittableRandom rng = new SplittableRandom(7);
        int[] ids = new int[LENGTHS.length * TIME], targets = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextInt(VOCAB);
            targets[i] = rng.nextInt(VOCAB);
        }
        try (GPT model = GPT.initialized(config, 3)) {
            double packed = run(model, kernels, recompute, new PackedDocuments(LENGTHS), ids, targets, LENGTHS.length, TIME, 1f);
            Map<String, float[]> packedGrads = grads(model);

            model.zeroGrad();
            double oneByOne = 0;
            int start = 0, total = ids.length;
            for (int[] row : LENGTHS) {
                for (int n : row) {
                    int[] docIds = java.util.Arrays.copyOfRange(ids, start, start + n);
                    int[] docTargets = java.util.Arrays.copyOfRange(targets, start, start + n);
                    // The packed loss is the mean over all tokens: each document's mean weighs n / total.
                    oneByOne += run(model, kernels, recompute, Sequences.WHOLE, docIds, docTargets, 1, n, (float) n / total) * n / total;
                    start += n;
                }
            }
            assertThat(packed).isCloseTo(oneByOne, org.assertj.core.data.Offset.offset(1e-5));
            grads(model).forEach((param, g) -> assertClose(param, packedGrads.get(param), g));
        }
    }

    /** The mask matters: the same rows as whole sequences give another loss, so the test above can fail. */
    @Test
    void attentionAcrossDocumentsChangesTheLoss() {
        GPTConfig config = new GPTConfig(1, 2, 16, VOCAB, 32);
        int[] ids = new int[LENGTHS.length * TIME], targets = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7) % VOCAB;
            targets[i] = (i * 11) % VOCAB;
        }
        try (GPT model = GPT.initialized(config, 3)) {
            double packed = run(model, TestKernels.FAST, RecomputePolicy.SELECTIVE, new PackedDocuments(LENGTHS), ids, targets, 2, TIME, 1f);
            double whole = run(model, TestKernels.FAST, RecomputePolicy.SELECTIVE, Sequences.WHOLE, ids, targets, 2, TIME, 1f);
            assertThat(Math.abs(packed - whole)).isGreaterThan(1e-4);
        }
    }

    @Test
    void lengthsMustFillTheRows() {
        assertThatThrownBy(() -> new PackedDocuments(new int[][] {{3, 0}})).hasMessageContaining("length 0");
        GPTConfig config = new GPTConfig(1, 2, 16, VOCAB, 32);
        try (GPT model = GPT.initialized(config, 3)) {
            assertThatThrownBy(() -> run(model, TestKernels.FAST, RecomputePolicy.SELECTIVE, new PackedDocuments(new int[][] {{3, 4}}),
                    new int[8], new int[8], 1, 8, 1f)).hasMessageContaining("do not fill rows of 8");
        }
    }

    /** Forward and backward of one micro-batch; returns its loss (gradients accumulate in the model). */
    static double run(GPT model, Kernels kernels, RecomputePolicy recompute, Sequences layout, int[] ids, int[] targets, int batch,
                      int time, float lossScale) {
        try (Tensor x = Tensor.allocate(DType.I32, MemoryCategory.OTHER, batch, time);
             Tensor y = Tensor.allocate(DType.I32, MemoryCategory.OTHER, batch, time);
             Tape tape = new Tape(Hooks.NONE)) {
            for (int i = 0; i < ids.length; i++) {
                x.setInt(i, ids[i]);
                y.setInt(i, targets[i]);
            }
            double loss = model.loss(new Ops(tape, kernels).withRecompute(recompute).withSequences(layout), x, y, lossScale);
            tape.backward();
            return loss;
        }
    }

    static Map<String, float[]> grads(GPT model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Parameter p : model.parameters()) out.put(p.name(), p.grad().toFloatArray());
        return out;
    }

    static void assertClose(String name, float[] expected, float[] actual) {
        float scale = 0;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - actual[i]) > 2e-5f * Math.max(scale, 1e-3f)) bad.add(i + ": " + expected[i] + " vs " + actual[i]);
        }
        assertThat(bad).as("%s gradient (largest |g| %s)", name, scale).isEmpty();
    }
}
