package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Backward passes against central finite differences. The objective is L = Σ wᵢ·outᵢ with
 * fixed random w, evaluated in float32 kernels and summed in double. With step h = 1e-2 the
 * truncation error is O(h²) ≈ 1e-4 relative and float rounding contributes ≈ 1e-7/h = 1e-5,
 * so analytic and numeric gradients must agree to 2e-3 relative (plus 2e-4 absolute for
 * gradients near zero).
 */
class GradientCheckTest {
    private static final float H = 1e-2f;
    private static final double REL = 2e-3, ABS = 2e-4;

    @AfterEach
    void nothingLeaks() {
        assertThat(MemoryAccounting.current().live(MemoryCategory.ACTIVATIONS)).isZero();
        assertThat(MemoryAccounting.current().live(MemoryCategory.PARAMETERS)).isZero();
        assertThat(MemoryAccounting.current().live(MemoryCategory.GRADIENTS)).isZero();
    }

    /** An input to differentiate: a parameter or a leaf activation. */
    private static Parameter leaf(String name, SplittableRandom rng, int... shape) {
        Parameter p = new Parameter(name, Tensor.zeros(MemoryCategory.PARAMETERS, shape));
        for (long i = 0; i < p.value().numel(); i++) p.value().set(i, (float) (rng.nextDouble() * 2 - 1));
        return p;
    }

    /**
     * Checks d(Σ w·f(inputs))/d(input) for every input at up to {@code samples} random
     * coordinates each.
     */
    private static void check(List<Parameter> inputs, Function<Ops, Var> f, int samples) {
        SplittableRandom rng = new SplittableRandom(99);
        float[] weights;
        try (Tape tape = new Tape(Hooks.NONE)) {
            Ops ops = new Ops(tape, TestKernels.FAST);
            Var out = f.apply(ops);
            weights = new float[(int) out.value().numel()];
            if (out instanceof ScalarLoss) {
                weights[0] = 1f; // the loss op seeds its own gradient of 1
            } else {
                for (int i = 0; i < weights.length; i++) weights[i] = (float) (rng.nextDouble() * 2 - 1);
                out.grad().copyFrom(weights);
            }
            tape.backward();
        }
        for (Parameter in : inputs) {
            float[] analytic = in.grad().toFloatArray();
            for (int s = 0; s < samples; s++) {
                int i = rng.nextInt(analytic.length);
                float orig = in.value().get(i);
                in.value().set(i, orig + H);
                double plus = objective(f, weights);
                in.value().set(i, orig - H);
                double minus = objective(f, weights);
                in.value().set(i, orig);
                double numeric = (plus - minus) / (2 * H);
                assertThat((double) analytic[i]).as("%s[%d]", in.name(), i)
                        .isCloseTo(numeric, org.assertj.core.data.Offset.offset(ABS + REL * Math.abs(numeric)));
            }
        }
        inputs.forEach(Parameter::close);
    }

    private static double objective(Function<Ops, Var> f, float[] weights) {
        try (Tape tape = Tape.inference()) {
            Var out = f.apply(new Ops(tape, TestKernels.FAST));
            double sum = 0;
            for (int i = 0; i < weights.length; i++) sum += (double) weights[i] * out.value().get(i);
            return sum;
        }
    }

    @Test
    void linear() {
        SplittableRandom rng = new SplittableRandom(1);
        Parameter x = leaf("x", rng, 5, 7), w = leaf("w", rng, 7, 3), b = leaf("b", rng, 3);
        check(List.of(x, w, b), ops -> ops.linear(x, w, b), 12);
    }

    /** PEQA: the input and the per-channel scales of a 3- and a 4-bit quantized weight; frozen bias gets no gradient. */
    @Test
    void quantizedLinear() {
        for (int bits : new int[] {3, 4}) {
            SplittableRandom rng = new SplittableRandom(bits);
            Parameter x = leaf("x", rng, 5, 7), w = leaf("w", rng, 7, 6), b = leaf("b", rng, 6);
            w.quantize(bits);
            check(List.of(x, w, b), ops -> ops.linear(x, w, b), 12);
        }
    }

    /** ParScale: P = 2 streams of one sequence each, prefix of 2 keys/values in front of 3 tokens, through causal attention. */
    @Test
    void parScalePrefixAttention() {
        SplittableRandom rng = new SplittableRandom(7);
        Parameter qkv = leaf("qkv", rng, 2 * 3, 3 * 4), pk = leaf("prefix_k", rng, 2, 2, 4), pv = leaf("prefix_v", rng, 2, 2, 4);
        check(List.of(qkv, pk, pv), ops -> ParScale.dropPrefix(ops,
                ops.attention(ParScale.prependPrefix(ops, qkv, pk, pv, 2, 2, 3), 2, 5, 2), 2, 2, 3), 16);
    }

    /** ParScale's aggregation of P = 3 streams: side by side, Linear, SiLU, Linear, smoothed softmax, weighted sum. */
    @Test
    void parScaleAggregation() {
        SplittableRandom rng = new SplittableRandom(8);
        int p = 3, n = 4, c = 5;
        Parameter h = leaf("h", rng, p * n, c), w0 = leaf("aggregate.0.weight", rng, p * c, c), b0 = leaf("aggregate.0.bias", rng, c),
                w2 = leaf("aggregate.2.weight", rng, c, p), b2 = leaf("aggregate.2.bias", rng, p);
        check(List.of(h, w0, b0, w2, b2), ops -> {
            Var a = ParScale.silu(ops, ops.linear(ParScale.sideBySide(ops, h, p), w0, b0));
            Var w = ParScale.smoothedSoftmax(ops, ops.linear(a, w2, b2), ParScale.SMOOTHING);
            return ParScale.weightedSum(ops, h, w, p);
        }, 12);
    }

    @Test
    void parScaleReplicate() {
        SplittableRandom rng = new SplittableRandom(9);
        Parameter x = leaf("x", rng, 3, 4);
        check(List.of(x), ops -> ParScale.replicate(ops, x, 3), 6);
    }

    @Test
    void layerNorm() {
        SplittableRandom rng = new SplittableRandom(2);
        Parameter x = leaf("x", rng, 4, 9), w = leaf("w", rng, 9), b = leaf("b", rng, 9);
        check(List.of(x, w, b), ops -> ops.layerNorm(x, w, b, 1e-5f), 12);
    }

    @Test
    void geluAndResidual() {
        SplittableRandom rng = new SplittableRandom(3);
        Parameter x = leaf("x", rng, 3, 40), y = leaf("y", rng, 3, 40);
        check(List.of(x, y), ops -> ops.add(ops.gelu(x), y), 20);
    }

    @Test
    void embedding() {
        SplittableRandom rng = new SplittableRandom(4);
        Parameter wte = leaf("wte", rng, 11, 6), wpe = leaf("wpe", rng, 8, 6);
        Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 2, 5);
        int[] tokens = {1, 3, 3, 10, 0, 7, 1, 1, 2, 9};
        for (int i = 0; i < tokens.length; i++) ids.setInt(i, tokens[i]);
        check(List.of(wte, wpe), ops -> ops.embed(ids, wte, wpe, 2), 20);
        ids.close();
    }

    /** The stable embedding's path: tokens alone, then positions added (a LayerNorm goes between). */
    @Test
    void tokenEmbeddingThenPositions() {
        SplittableRandom rng = new SplittableRandom(9);
        Parameter wte = leaf("wte", rng, 11, 6), wpe = leaf("wpe", rng, 8, 6);
        Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 2, 5);
        int[] tokens = {1, 3, 3, 10, 0, 7, 1, 1, 2, 9};
        for (int i = 0; i < tokens.length; i++) ids.setInt(i, tokens[i]);
        check(List.of(wte, wpe), ops -> ops.addPositions(ops.embedTokens(ids, wte), wpe, 2, 2), 20);
        ids.close();
    }

    @Test
    void causalAttention() {
        SplittableRandom rng = new SplittableRandom(5);
        int batch = 2, time = 19, heads = 3, c = 12;
        Parameter qkv = leaf("qkv", rng, batch * time, 3 * c);
        check(List.of(qkv), ops -> ops.attention(qkv, batch, time, heads), 40);
    }

    @Test
    void attentionIsCausal() {
        SplittableRandom rng = new SplittableRandom(6);
        int time = 6, c = 4;
        try (Parameter qkv = leaf("qkv", rng, time, 3 * c); Tape tape = Tape.inference()) {
            Ops ops = new Ops(tape, TestKernels.FAST);
            float[] before = ops.attention(qkv, 1, time, 2).value().toFloatArray();
            // Changing the last token's k and v must not change any earlier output.
            for (int col = c; col < 3 * c; col++) qkv.value().set((long) (time - 1) * 3 * c + col, 5f);
            float[] after = ops.attention(qkv, 1, time, 2).value().toFloatArray();
            for (int i = 0; i < (time - 1) * c; i++) assertThat(after[i]).isEqualTo(before[i]);
            assertThat(after[(time - 1) * c]).isNotEqualTo(before[(time - 1) * c]);
        }
    }

    @Test
    void tiedCrossEntropy() {
        SplittableRandom rng = new SplittableRandom(7);
        Parameter x = leaf("x", rng, 4, 5), wte = leaf("wte", rng, 13, 5);
        Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 4);
        int[] t = {3, -1, 12, 0};
        for (int i = 0; i < t.length; i++) targets.setInt(i, t[i]);
        // Wrap the scalar loss as a 1-element Var so the generic checker applies.
        check(List.of(x, wte), ops -> {
            double loss = ops.tiedCrossEntropy(x, wte, targets, 1f);
            Var out = ops.tape().activation(1);
            out.value().set(0, (float) loss);
            ops.tape().onBackward(null, () -> { });
            return new ScalarLoss(out);
        }, 15);
        targets.close();
    }

    /** The tied-head loss seeds its own gradient (weight 1); this marker keeps the checker generic. */
    private static final class ScalarLoss extends Var {
        ScalarLoss(Var v) {
            super(v.value(), MemoryCategory.ACTIVATIONS);
        }
    }

    @Test
    void wholeTwoLayerGpt() {
        wholeGpt(new GPTConfig(2, 2, 8, 17, 8));
    }

    /** With the stable embedding: wte_norm between the token lookup and the positions. */
    @Test
    void wholeTwoLayerGptWithStableEmbedding() {
        GPTConfig cfg = new GPTConfig(2, 2, 8, 17, 8, true);
        try (GPT model = GPT.empty(cfg)) {
            assertThat(model.moduleParameters().get("embed")).extracting(Parameter::name)
                    .containsExactly("wte.weight", "wpe.weight", "wte_norm.weight", "wte_norm.bias");
        }
        wholeGpt(cfg);
    }

    private static void wholeGpt(GPTConfig cfg) {
        try (GPT model = GPT.initialized(cfg, 42)) {
            // Larger weights than GPT-2 init, so every path carries a visible gradient.
            SplittableRandom rng = new SplittableRandom(8);
            for (Parameter p : model.parameters()) {
                for (long i = 0; i < p.numel(); i++) p.value().set(i, p.value().get(i) + (float) (rng.nextGaussian() * 0.3));
            }
            Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 2, 6);
            Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 2, 6);
            for (int i = 0; i < 12; i++) {
                ids.setInt(i, rng.nextInt(17));
                targets.setInt(i, rng.nextInt(17));
            }
            try (Tape tape = new Tape(Hooks.NONE)) {
                model.loss(new Ops(tape, TestKernels.FAST), ids, targets, 1f);
                tape.backward();
            }
            List<String> failures = new ArrayList<>();
            for (Parameter p : model.parameters()) {
                float[] analytic = p.grad().toFloatArray();
                for (int s = 0; s < 4; s++) {
                    int i = rng.nextInt(analytic.length);
                    float orig = p.value().get(i);
                    p.value().set(i, orig + H);
                    double plus = gptLoss(model, ids, targets);
                    p.value().set(i, orig - H);
                    double minus = gptLoss(model, ids, targets);
                    p.value().set(i, orig);
                    double numeric = (plus - minus) / (2 * H);
                    if (Math.abs(analytic[i] - numeric) > ABS + REL * Math.abs(numeric)) {
                        failures.add(p.name() + "[" + i + "]: analytic " + analytic[i] + " numeric " + numeric);
                    }
                }
            }
            assertThat(failures).isEmpty();
            ids.close();
            targets.close();
        }
    }

    private static double gptLoss(GPT model, Tensor ids, Tensor targets) {
        try (Tape tape = Tape.inference()) {
            return model.loss(new Ops(tape, TestKernels.FAST), ids, targets, 1f);
        }
    }
}
