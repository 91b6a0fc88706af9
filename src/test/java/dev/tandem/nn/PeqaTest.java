package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.optim.AdamW;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.ParamSlice;
import dev.tandem.parallel.ParallelModel;
import dev.tandem.plan.Plan;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** PEQA on a whole GPT: what trains, what never changes, and that the packed model computes the weights it stands for. */
class PeqaTest {
    private static final GPTConfig CFG = new GPTConfig(2, 2, 16, 40, 8);

    private static Tensor tokens(SplittableRandom rng) {
        Tensor t = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 2, 8);
        for (int i = 0; i < 16; i++) t.setInt(i, rng.nextInt(40));
        return t;
    }

    @Test
    void onlyTheScalesTrainOneForEachOutputChannel() {
        try (GPT model = GPT.initialized(CFG, 1)) {
            List<Parameter> trainable = Peqa.apply(model, 4);
            int c = CFG.nEmbd();
            long outFeatures = CFG.nLayer() * (3L * c + c + 4L * c + c); // c_attn, attn.c_proj, c_fc, mlp.c_proj
            assertThat(trainable.stream().mapToLong(Parameter::numel).sum()).isEqualTo(outFeatures);
            assertThat(trainable).allMatch(p -> p.quantized() != null && p.shape().length == 1);
            assertThat(model.param("wte.weight").frozen()).isTrue();
            assertThat(model.param("h.0.ln_1.weight").frozen()).isTrue();
            assertThat(model.param("h.1.mlp.c_fc.bias").frozen()).isTrue();
        }
    }

    /** Ŵ = scale·(q − z) is what the model computes: the same logits as a float model holding Ŵ. */
    @Test
    void packedModelComputesTheDequantizedWeights() {
        SplittableRandom rng = new SplittableRandom(2);
        try (GPT packed = GPT.initialized(CFG, 3); GPT dense = GPT.initialized(CFG, 3); Tensor ids = tokens(rng)) {
            Peqa.apply(packed, 3);
            for (Parameter p : packed.parameters()) {
                if (p.quantized() == null) continue;
                Tensor w = dense.param(p.name()).value();
                p.quantized().unpackRows(0, p.quantized().in(), p.value().data(), w.data());
            }
            float[] a, b;
            try (Tape t = Tape.inference()) {
                a = packed.logits(new Ops(t, TestKernels.REFERENCE), ids).toFloatArray();
            }
            try (Tape t = Tape.inference()) {
                b = dense.logits(new Ops(t, TestKernels.REFERENCE), ids).toFloatArray();
            }
            for (int i = 0; i < a.length; i++) assertThat(a[i]).as("logit %d", i).isCloseTo(b[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    /**
     * Through the trainer's own path (ParallelModel, AdamW on its slices): the optimizer sees only
     * the scales (state for Σ out_features elements), the loss falls, the scales move, and the
     * packed codes, zero points and every frozen parameter keep their exact bytes.
     */
    @Test
    void trainingMovesScalesAndNothingElse() {
        SplittableRandom rng = new SplittableRandom(4);
        ProcessGroup one = LocalWorld.create(1, CommOptions.defaults()).getFirst();
        try (one; GPT model = GPT.initialized(CFG, 5); Tensor ids = tokens(rng); Tensor targets = tokens(rng)) {
            List<Parameter> trainable = Peqa.apply(model, 4);
            Map<String, byte[]> before = new HashMap<>();
            for (Parameter p : model.parameters()) {
                before.put(p.name(), bytes(p.quantized() != null ? p.quantized().codes() : p.value()));
                if (p.quantized() != null) before.put(p.name() + ".zeros", bytes(p.quantized().zeros()));
            }
            long stateBefore = MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE);
            try (ParallelModel pm = ParallelModel.parallelize(model, Plan.SINGLE, ParallelModel.mesh(one, Plan.SINGLE), TestKernels.FAST);
                 Optimizer opt = new AdamW(new AdamW.Settings(0.9f, 0.95f, 1e-8f, 0f), pm.optimizerSlices(), TestKernels.FAST)) {
                long sliced = pm.optimizerSlices().stream().mapToLong(ParamSlice::length).sum();
                assertThat(sliced).isEqualTo(trainable.stream().mapToLong(Parameter::numel).sum());
                assertThat(MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE) - stateBefore).isEqualTo(2 * 4 * sliced);
                double first = 0, last = 0;
                for (int step = 0; step < 30; step++) {
                    pm.zeroGrad();
                    last = pm.forwardBackward(List.of(ids), List.of(targets));
                    if (step == 0) first = last;
                    opt.step(1e-2f);
                    pm.afterOptimizerStep();
                }
                assertThat(last).isLessThan(first - 0.05);
                for (Parameter p : model.parameters()) {
                    if (p.quantized() != null) {
                        assertThat(bytes(p.quantized().codes())).as(p.name()).isEqualTo(before.get(p.name()));
                        assertThat(bytes(p.quantized().zeros())).as(p.name()).isEqualTo(before.get(p.name() + ".zeros"));
                        assertThat(p.value().toFloatArray()).as("scales of %s", p.name()).isNotEqualTo(scalesOf(model, p));
                    } else {
                        assertThat(bytes(p.value())).as(p.name()).isEqualTo(before.get(p.name()));
                        assertThat(p.gradOrNull()).as("gradient of frozen %s", p.name()).isNull();
                    }
                }
            }
        }
    }

    /** The scales a fresh quantization of the same initial weights gives (what training started from). */
    private static float[] scalesOf(GPT trained, Parameter p) {
        try (GPT fresh = GPT.initialized(CFG, 5)) {
            Peqa.apply(fresh, 4);
            return fresh.param(p.name()).value().toFloatArray();
        }
    }

    private static byte[] bytes(Tensor t) {
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }
}
