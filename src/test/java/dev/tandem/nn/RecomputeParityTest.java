package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.plan.Recompute;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every recompute mode runs the same float32 arithmetic in the same order: none stores the
 * probability rows that selective's backward recomputes, with the same instructions, and full
 * replays the block's forward on the same inputs before the same backward. So losses and
 * gradients must be bit-identical to selective (today's behaviour) over several training steps,
 * and hooks must see the same module events, with each parameter's gradient reported ready
 * exactly once per micro-batch, inside its module's backward, and already complete.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RecomputeParityTest {
    private static final GPTConfig CONFIG = new GPTConfig(3, 2, 32, 64, 32);
    // 24 positions: attention rows longer than one vector (16 floats with AVX-512), with a tail.
    private static final int ROWS = 2, TIME = 24, STEPS = 3, MICRO_BATCHES = 2;
    private static final float LR = 0.05f;

    private Run reference;

    @BeforeAll
    void selective() {
        reference = train(RecomputePolicy.SELECTIVE);
    }

    @AfterEach
    void nothingLeaks() {
        assertThat(MemoryAccounting.current().live(MemoryCategory.ACTIVATIONS)).isZero();
    }

    @ParameterizedTest(name = "recompute {0}")
    @ValueSource(strings = {"none", "full", "none,full,selective", "full,none,full"})
    void bitIdenticalToSelective(String spec) {
        Run run = train(RecomputePolicy.parse(spec, CONFIG.nLayer()));
        assertThat(run.losses).isEqualTo(reference.losses);
        for (int i = 0; i < reference.gradients.size(); i++) {
            assertThat(run.gradients.get(i)).as(reference.names.get(i % reference.names.size())).isEqualTo(reference.gradients.get(i));
        }
        assertThat(run.moduleEvents).isEqualTo(reference.moduleEvents);
    }

    @ParameterizedTest(name = "recompute {0}")
    @ValueSource(strings = {"selective", "none", "full"})
    void gradientReadyOncePerMicroBatchInsideItsModulesBackward(String spec) {
        Run run = train(RecomputePolicy.parse(spec, CONFIG.nLayer()));
        assertThat(run.problems).isEmpty();
        assertThat(run.readyCount).hasSize(CONFIG.nLayer() * 12 + 4)
                .allSatisfy((p, n) -> assertThat(n).as(p.name()).isEqualTo(STEPS * MICRO_BATCHES));
    }

    /**
     * A module nested in a fully recomputed one runs twice: hooks see a forward without backward,
     * then, inside the outer module's backward, a forward with its backward.
     */
    @Test
    void nestedModulesSeeTheReplayAsAForwardWithBackward() {
        List<String> events = new ArrayList<>();
        Hooks hooks = new Hooks() {
            @Override
            public void beforeForward(String module) {
                events.add("forward " + module);
            }

            @Override
            public void afterForward(String module) {
                events.add("forward done " + module);
            }

            @Override
            public void beforeBackward(String module) {
                events.add("backward " + module);
            }

            @Override
            public void afterBackward(String module) {
                events.add("backward done " + module);
            }
        };
        float[][] inputGrads = new float[2][];
        for (int run = 0; run < 2; run++) {
            RecomputePolicy policy = run == 0 ? RecomputePolicy.SELECTIVE : RecomputePolicy.every(Recompute.FULL);
            events.clear();
            try (Parameter w = new Parameter("w", Tensor.of(MemoryCategory.PARAMETERS, new float[] {1, 2, -3, 4}, 2, 2));
                 Parameter b = new Parameter("b", Tensor.of(MemoryCategory.PARAMETERS, new float[] {0.5f, -1}, 2));
                 Tape tape = new Tape(hooks)) {
                Ops ops = new Ops(tape, TestKernels.FAST).withRecompute(policy);
                Var x = tape.activation(3, 2);
                x.value().copyFrom(new float[] {1, -2, 3, 0.25f, -1, 2});
                Var y = ops.module("h.0", x, (o, in) -> o.gelu(o.module("inner", in, (o2, v) -> o2.linear(v, w, b))));
                y.grad().fill(1f);
                tape.backward();
                inputGrads[run] = x.grad().toFloatArray();
            }
        }
        assertThat(inputGrads[1]).isEqualTo(inputGrads[0]);
        assertThat(events).containsExactly("forward h.0", "forward inner", "forward done inner", "forward done h.0",
                "backward h.0", "forward inner", "forward done inner", "backward inner", "backward done inner", "backward done h.0");
    }

    @Test
    void policiesParseAndPrintTheirConfigForm() {
        assertThat(RecomputePolicy.parse("FULL", 4)).isEqualTo(RecomputePolicy.every(Recompute.FULL));
        assertThat(RecomputePolicy.parse("none, full,selective", 3).toString()).isEqualTo("none,full,selective");
        assertThat(RecomputePolicy.parse("none,full", 2).modeOf("h.1")).isEqualTo(Recompute.FULL);
        assertThat(RecomputePolicy.parse("none,full", 2).modeOf("embed")).isEqualTo(Recompute.SELECTIVE);
        assertThatThrownBy(() -> RecomputePolicy.parse("full,none", 3)).isInstanceOf(TandemException.class)
                .hasMessageContaining("lists 2 modes but the model has n_layer = 3");
        assertThatThrownBy(() -> RecomputePolicy.parse("partial", 3)).isInstanceOf(TandemException.class)
                .hasMessageContaining("'partial' is not a mode; use none, selective or full");
    }

    /** What a run of {@link #STEPS} SGD steps produced, and what its hooks saw. */
    private static final class Run {
        final List<Double> losses = new ArrayList<>();
        final List<float[]> gradients = new ArrayList<>(); // per step, every parameter in order
        final List<String> names = new ArrayList<>();
        final List<String> moduleEvents = new ArrayList<>();
        final Map<Parameter, Integer> readyCount = new IdentityHashMap<>();
        final List<String> problems = new ArrayList<>();
    }

    private static Run train(RecomputePolicy policy) {
        Run run = new Run();
        SplittableRandom rng = new SplittableRandom(11);
        try (GPT model = GPT.initialized(CONFIG, 3);
             Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, ROWS, TIME);
             Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, ROWS, TIME)) {
            model.parameters().forEach(p -> run.names.add(p.name()));
            Map<String, List<Parameter>> modules = model.moduleParameters();
            for (int step = 0; step < STEPS; step++) {
                model.zeroGrad();
                double loss = 0;
                for (int micro = 0; micro < MICRO_BATCHES; micro++) {
                    for (int i = 0; i < ROWS * TIME; i++) {
                        ids.setInt(i, rng.nextInt(CONFIG.vocabSize()));
                        targets.setInt(i, rng.nextInt(CONFIG.vocabSize()));
                    }
                    Recorder hooks = new Recorder(run, modules);
                    try (Tape tape = new Tape(hooks)) {
                        loss += model.loss(new Ops(tape, TestKernels.FAST).withRecompute(policy), ids, targets, 1f / MICRO_BATCHES);
                        tape.backward();
                    }
                    hooks.checkReadyValues();
                }
                run.losses.add(loss);
                for (Parameter p : model.parameters()) {
                    float[] g = p.grad().toFloatArray();
                    run.gradients.add(g);
                    for (int i = 0; i < g.length; i++) p.value().set(i, p.value().get(i) - LR * g[i]);
                }
            }
        }
        return run;
    }

    /**
     * Records module events, and for each gradient-ready event checks that it comes inside the
     * backward window of a module using the parameter and keeps a copy of the gradient then, to
     * compare with the gradient once the micro-batch's backward has finished.
     */
    private static final class Recorder implements Hooks {
        private final Run run;
        private final Map<String, List<Parameter>> modules;
        private final List<String> inBackward = new ArrayList<>();
        private final Map<Parameter, float[]> atReady = new IdentityHashMap<>();

        Recorder(Run run, Map<String, List<Parameter>> modules) {
            this.run = run;
            this.modules = modules;
        }

        @Override
        public void beforeForward(String module) {
            run.moduleEvents.add("forward " + module);
        }

        @Override
        public void afterForward(String module) {
            run.moduleEvents.add("forward done " + module);
        }

        @Override
        public void beforeBackward(String module) {
            run.moduleEvents.add("backward " + module);
            inBackward.add(module);
        }

        @Override
        public void afterBackward(String module) {
            run.moduleEvents.add("backward done " + module);
            inBackward.remove(module);
        }

        @Override
        public void onGradientReady(Parameter p) {
            run.readyCount.merge(p, 1, Integer::sum);
            if (inBackward.stream().noneMatch(m -> modules.get(m).contains(p))) {
                run.problems.add(p.name() + " ready outside the backward of its modules " + inBackward);
            }
            if (atReady.put(p, p.grad().toFloatArray()) != null) run.problems.add(p.name() + " ready twice in one micro-batch");
        }

        void checkReadyValues() {
            atReady.forEach((p, g) -> {
                if (!java.util.Arrays.equals(g, p.grad().toFloatArray())) run.problems.add(p.name() + " changed after it was ready");
            });
        }
    }
}
