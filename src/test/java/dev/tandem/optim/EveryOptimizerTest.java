package dev.tandem.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Tape;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What every optimizer must do: learn, and survive a checkpoint round trip bit for bit. */
class EveryOptimizerTest {

    static List<Arguments> optimizers() {
        // name, options, lr for the overfit test
        return List.of(
                Arguments.of("adamw", Map.of(), 3e-3f),
                Arguments.of("adamw8bit", Map.of(), 3e-3f),
                Arguments.of("lion", Map.of(), 2e-3f),
                Arguments.of("lion8bit", Map.of(), 2e-3f),
                Arguments.of("muon", Map.of("adam_lr_ratio", "0.06"), 0.05f),
                Arguments.of("soap", Map.of(), 3e-3f),
                Arguments.of("sgd", Map.of("momentum", "0.9", "nesterov", "true"), 0.1f));
    }

    /** Same pattern as TrainingTest.overfitsASingleBatch: one batch of random tokens, memorised. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optimizers")
    void overfitsASingleBatch(String name, Map<String, String> options, float lr) {
        overfit(new GPTConfig(2, 2, 32, 50, 16), name, options, lr);
    }

    /** The same with the stable embedding (wte_norm after the token lookup) and float32 embedding state. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"adamw8bit", "lion8bit"})
    void overfitsWithTheStableEmbedding(String name) {
        float lr = name.equals("adamw8bit") ? 3e-3f : 2e-3f;
        overfit(new GPTConfig(2, 2, 32, 50, 16, true), name, Map.of("stable_embedding", "true"), lr);
    }

    private static void overfit(GPTConfig cfg, String name, Map<String, String> options, float lr) {
        SplittableRandom rng = new SplittableRandom(3);
        OptimizerSettings s = OptimizerSettings.gpt().withWeightDecay(0f).withOptions(options);
        double first = 0, last = 0;
        try (GPT model = GPT.initialized(cfg, 7);
             Optimizer opt = Optimizers.create(name, s, ParamSlice.wholes(model.parameters()), TestKernels.FAST);
             Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 4, 16);
             Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 4, 16)) {
            for (int i = 0; i < 64; i++) {
                ids.setInt(i, rng.nextInt(50));
                targets.setInt(i, rng.nextInt(50));
            }
            for (int step = 0; step < 120; step++) {
                model.zeroGrad();
                try (Tape tape = new Tape(Hooks.NONE)) {
                    last = model.loss(new Ops(tape, TestKernels.FAST), ids, targets, 1f);
                    tape.backward();
                }
                if (step == 0) first = last;
                opt.step(lr);
            }
        }
        assertThat(first).isGreaterThan(3.5); // ≈ ln 50 at initialisation
        assertThat(last).as("%s final loss", name).isLessThan(0.5);
        assertThat(MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE)).isZero();
    }

    /**
     * Export after 3 steps, import into a fresh optimizer over a copy of the model, and the next
     * 12 steps (crossing SOAP's refresh at update 10) give bit-identical parameters.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optimizers")
    void stateRoundTripIsBitExact(String name, Map<String, String> options, float lr) {
        GPTConfig cfg = new GPTConfig(1, 2, 64, 80, 8); // c_fc has 64·256 elements: 8-bit state for real
        OptimizerSettings s = OptimizerSettings.gpt().withOptions(options);
        try (GPT a = GPT.initialized(cfg, 1); GPT b = GPT.initialized(cfg, 1);
             Optimizer oa = Optimizers.create(name, s, ParamSlice.wholes(grads(a, 0)), TestKernels.FAST)) {
            for (int t = 1; t <= 3; t++) {
                grads(a, t);
                oa.step(lr * 0.1f);
            }
            for (int i = 0; i < a.parameters().size(); i++) {
                b.parameters().get(i).value().copyFrom(a.parameters().get(i).value());
            }
            Map<String, Tensor> saved = new LinkedHashMap<>();
            oa.state().forEach((k, v) -> {
                Tensor copy = Tensor.allocate(v.dtype(), MemoryCategory.OTHER, v.shape());
                copy.copyFrom(v);
                saved.put(k, copy);
            });
            assertThat(saved).isNotEmpty();
            try (Optimizer ob = Optimizers.create(name, s, ParamSlice.wholes(grads(b, 0)), TestKernels.FAST)) {
                ob.load(saved, oa.steps());
                assertThat(ob.steps()).isEqualTo(3);
                for (int t = 4; t <= 15; t++) {
                    grads(a, t);
                    grads(b, t);
                    oa.step(lr * 0.1f);
                    ob.step(lr * 0.1f);
                }
                for (int i = 0; i < a.parameters().size(); i++) {
                    Parameter pa = a.parameters().get(i), pb = b.parameters().get(i);
                    assertThat(pb.value().toFloatArray()).as(pa.name()).containsExactly(pa.value().toFloatArray());
                }
                Map<String, Tensor> wrong = new LinkedHashMap<>(saved);
                wrong.put("nonsense", saved.values().iterator().next());
                assertThatThrownBy(() -> ob.load(wrong, 3)).isInstanceOf(TandemException.class).hasMessageContaining("nonsense");
            } finally {
                saved.values().forEach(Tensor::close);
            }
        }
    }

    /** Deterministic pseudo-gradients for step {@code t} (allocating gradients on first use). */
    private static List<Parameter> grads(GPT model, int t) {
        for (Parameter p : model.parameters()) {
            SplittableRandom r = new SplittableRandom(t * 1000L + p.name().hashCode());
            for (long i = 0; i < p.numel(); i++) p.grad().set(i, (float) r.nextGaussian());
        }
        return model.parameters();
    }

    @Test
    void groupsSetLrAndDecayByName() {
        ParamGroups g = ParamGroups.parse("wte|wpe: lr=0.5; bias$: wd=0.3");
        try (TestParam wte = new TestParam("wte.weight", false, 2, 2); TestParam bias = new TestParam("h.0.mlp.c_fc.bias", false, 2);
             TestParam fc = new TestParam("h.0.mlp.c_fc.weight", true, 2, 2); TestParam ln = new TestParam("ln_f.weight", false, 2)) {
            assertThat(g.lrScale("wte.weight")).isEqualTo(0.5f);
            assertThat(g.lrScale("h.0.mlp.c_fc.weight")).isEqualTo(1f);
            assertThat(g.weightDecay(bias.slice, 0.1f)).isEqualTo(0.3f);
            assertThat(g.weightDecay(fc.slice, 0.1f)).isEqualTo(0.1f);
            assertThat(g.weightDecay(ln.slice, 0.1f)).isZero();
            assertThat(g.weightDecay(wte.slice, 0.1f)).isZero();
            // lr 0.5 on wte: the first Adam step moves it by half as much as the LayerNorm gain
            wte.grad.fill(1f);
            ln.grad.fill(1f);
            try (AdamW opt = new AdamW(AdamW.Settings.gpt(), List.of(wte.slice, ln.slice), g, TestKernels.FAST)) {
                opt.step(0.01f);
            }
            assertThat(wte.value.get(0)).isCloseTo(-0.005f, org.assertj.core.data.Offset.offset(1e-7f));
            assertThat(ln.value.get(0)).isCloseTo(-0.01f, org.assertj.core.data.Offset.offset(1e-7f));
        }
        assertThatThrownBy(() -> ParamGroups.parse("bias: momentum=3")).hasMessageContaining("unknown key 'momentum'");
        assertThatThrownBy(() -> ParamGroups.parse("([: lr=1")).hasMessageContaining("bad regex");
    }

    @Test
    void factoryNamesItsErrors() {
        assertThatThrownBy(() -> Optimizers.create("adam", OptimizerSettings.gpt(), List.of(), TestKernels.FAST))
                .hasMessageContaining("unknown optimizer 'adam'").hasMessageContaining("adamw8bit");
        assertThatThrownBy(() -> Optimizers.create("lion", OptimizerSettings.gpt().withOptions(Map.of("momentum", "0.9")), List.of(), TestKernels.FAST))
                .hasMessageContaining("no option 'momentum'").hasMessageContaining("beta2");
        assertThatThrownBy(() -> Optimizers.create("sgd", OptimizerSettings.gpt().withOptions(Map.of("nesterov", "yes")), List.of(), TestKernels.FAST))
                .hasMessageContaining("true or false");
        assertThat(OptimizerSettings.parseOptions("momentum=0.95, nesterov=false")).containsEntry("nesterov", "false");
        for (String n : Optimizers.NAMES) {
            try (Optimizer o = Optimizers.create(n, OptimizerSettings.gpt(), List.of(), TestKernels.FAST)) {
                assertThat(o.state()).isEmpty();
            }
        }
    }
}
