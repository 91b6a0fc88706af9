package dev.tandem.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.MoEConfig;
import dev.tandem.nn.Parameter;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.OptimizerSettings;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.ExpertLayout;
import dev.tandem.plan.MeshShape;
import dev.tandem.plan.Plan;
import dev.tandem.plan.Recompute;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.tensor.AttentionKernels;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * FSSDP's properties on two thread ranks, against one rank computing the same two micro-batches:
 * the first step has no load estimate, so nothing is replicated and the sparse collectives move no
 * byte; the second step replicates the hot experts (skewed router), and each owner's gradient,
 * its own rows plus the replicas' gradients summed onto it, equals the single-rank gradient; the
 * replicas are gone after the step, and each expert's parameters and optimizer slices live on
 * exactly one rank.
 *
 * <p>Tolerance: the same rows meet the same weights, but gradient sums run in another order
 * (rows grouped by rank, replica sums added last), so float32 rounding differs at ~1e-6 of the
 * largest entry; 1e-4 of it catches a missing or doubled contribution.
 */
class FssdpTest {
    private static final GPTConfig MODEL = new GPTConfig(2, 2, 32, 64, 16).withMoe(new MoEConfig(4, 2, 1.25, false, 1, 0.01, 0.001, 1.0));
    private static final int ROWS = 4; // per rank and micro-batch

    private static Tensor tokens(long seed, int rows) {
        Tensor t = Tensor.allocate(DType.I32, MemoryCategory.OTHER, rows, MODEL.blockSize());
        SplittableRandom rng = new SplittableRandom(seed);
        for (long i = 0; i < t.numel(); i++) t.setInt(i, rng.nextInt(MODEL.vocabSize()));
        return t;
    }

    private record Step(Map<String, float[]> grads, long replicaBytes, int replicas, long liveParameterBytes) {}

    @Test
    void replicasMoveNothingUntilLoadsAreKnownThenOwnersGetTheSumOfReplicaGradients() {
        Plan single = Plan.SINGLE;
        Map<String, float[]> reference = new HashMap<>();
        try (GPT model = GPT.initialized(MODEL, 3);
             ParallelModel pm = ParallelModel.parallelize(model, single, ParallelModel.mesh(oneRank(), single), TestKernels.FAST);
             Tensor a = tokens(1, ROWS); Tensor b = tokens(2, ROWS); Tensor ta = tokens(3, ROWS); Tensor tb = tokens(4, ROWS)) {
            pm.zeroGrad();
            pm.forwardBackward(List.of(a, b), List.of(ta, tb));
            for (Parameter p : model.parameters()) reference.put(p.name(), p.grad().toFloatArray());
        }
        Plan fssdp = single.withMesh(new MeshShape(2, 1, 1)).withExperts(new ExpertLayout(2, ExpertLayout.Mode.FSSDP));
        Plan dense = single.withMesh(new MeshShape(2, 1, 1));
        Map<Integer, List<Step>> steps = new ConcurrentHashMap<>();
        Map<Integer, List<String>> expertSlices = new ConcurrentHashMap<>();
        Map<Integer, Long> denseBytes = new ConcurrentHashMap<>();
        LocalWorld.run(2, CommOptions.defaults(), g -> {
            try (GPT model = GPT.initialized(MODEL, 3);
                 ParallelModel pm = ParallelModel.parallelize(model, dense, ParallelModel.mesh(g, dense), TestKernels.FAST)) {
                denseBytes.put(g.rank(), MemoryAccounting.current().live(MemoryCategory.PARAMETERS));
            }
        });
        LocalWorld.run(2, CommOptions.defaults(), g -> {
            try (GPT model = GPT.initialized(MODEL, 3);
                 ParallelModel pm = ParallelModel.parallelize(model, fssdp, ParallelModel.mesh(g, fssdp), TestKernels.FAST);
                 Tensor ids = tokens(g.rank() + 1, ROWS); Tensor targets = tokens(g.rank() + 3, ROWS)) {
                ExpertParallel ep = pm.expertParallel();
                List<Step> mine = new ArrayList<>();
                for (int s = 0; s < 2; s++) {
                    pm.zeroGrad();
                    pm.forwardBackward(List.of(ids), List.of(targets));
                    Map<String, float[]> grads = new HashMap<>();
                    for (ParamSlice sl : pm.optimizerSlices()) {
                        if (!ep.managesName(sl.name())) continue;
                        float[] v = new float[(int) sl.length()];
                        java.lang.foreign.MemorySegment.copy(sl.grad(), java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v, 0, v.length);
                        grads.put(sl.name(), v);
                    }
                    grads.put("h.0.mlp.router.weight", model.param("h.0.mlp.router.weight").grad().toFloatArray());
                    mine.add(new Step(grads, ep.takeReplicaBytesSent(), ep.placement(0).replicas() + ep.placement(1).replicas(),
                            MemoryAccounting.current().live(MemoryCategory.PARAMETERS)));
                }
                steps.put(g.rank(), mine);
                expertSlices.put(g.rank(), pm.optimizerSlices().stream().map(ParamSlice::name).filter(ep::managesName).toList());
            }
        });
        for (int r = 0; r < 2; r++) {
            Step first = steps.get(r).get(0), second = steps.get(r).get(1);
            assertThat(first.replicas()).as("no loads known yet: P1 = P0").isZero();
            assertThat(first.replicaBytes()).as("rank %d: sparse collectives without replicas", r).isZero();
            assertThat(second.replicas()).as("skewed router: hot experts replicated").isPositive();
            assertThat(steps.get(0).get(1).replicaBytes() + steps.get(1).get(1).replicaBytes()).isPositive();
            assertThat(second.liveParameterBytes()).as("replicas freed after the step").isEqualTo(first.liveParameterBytes());
            for (Step s : List.of(first, second)) {
                s.grads().forEach((name, g) -> {
                    float[] ref = reference.get(name);
                    double max = 0;
                    for (float x : ref) max = Math.max(max, Math.abs(x));
                    for (int i = 0; i < g.length; i++) {
                        assertThat((double) g[i]).as("%s[%d]", name, i).isCloseTo(ref[i], org.assertj.core.data.Offset.offset(1e-4 * max + 1e-9));
                    }
                });
            }
        }
        // Each expert's parameters (and so its optimizer state) on exactly one rank, half the experts each.
        List<String> all = new ArrayList<>(expertSlices.get(0));
        all.addAll(expertSlices.get(1));
        assertThat(all).doesNotHaveDuplicates().hasSize(2 * 4 * MODEL.moe().nExperts());
        long expertBytes = 2L * MODEL.moe().nExperts() * (8L * 32 * 32 + 4 * 32 + 32) * 4;
        for (int r = 0; r < 2; r++) {
            assertThat(denseBytes.get(r) - steps.get(r).get(0).liveParameterBytes()).as("rank %d holds half the experts", r)
                    .isEqualTo(expertBytes / 2);
        }
    }

    /**
     * "Every expert's state bytes live on exactly one rank", through the memory accounting: on 4
     * thread ranks, after two steps (the second with replicas under FSSDP) and an AdamW step, each
     * rank holds, in parameters, gradients and optimizer state each, exactly the bytes of every
     * expert on every rank (the same model with ep = 1) less 3/4 of all experts' bytes: a quarter
     * of the expert state per rank, total / world with no padding (8 experts divide by 4).
     */
    @Test
    void eachRankHoldsAQuarterOfTheExpertStateOnFourRanks() {
        GPTConfig model = new GPTConfig(2, 2, 32, 64, 16).withMoe(new MoEConfig(8, 1, 1.25, true, 1, 0.01, 0.001, 3.0));
        Plan everywhere = Plan.SINGLE.withMesh(new MeshShape(4, 1, 1));
        List<MemoryCategory> state = List.of(MemoryCategory.PARAMETERS, MemoryCategory.GRADIENTS, MemoryCategory.OPTIMIZER_STATE);
        Map<Integer, Map<MemoryCategory, Long>> reference = stateBytes(model, everywhere, state, new ConcurrentHashMap<>());
        long perExpert = (8L * 32 * 32 + 4 * 32 + 32) * 4, experts = 2 * 8 * perExpert;
        Map<MemoryCategory, Long> expertTotal = Map.of(MemoryCategory.PARAMETERS, experts, MemoryCategory.GRADIENTS, experts,
                MemoryCategory.OPTIMIZER_STATE, 2 * experts); // AdamW: m and v, float32
        for (ExpertLayout.Mode mode : List.of(ExpertLayout.Mode.EP, ExpertLayout.Mode.FSSDP)) {
            Map<Integer, Integer> replicas = new ConcurrentHashMap<>();
            Map<Integer, Map<MemoryCategory, Long>> got = stateBytes(model, everywhere.withExperts(new ExpertLayout(4, mode)), state, replicas);
            if (mode == ExpertLayout.Mode.FSSDP) assertThat(replicas.get(0)).as("the skewed router's hot experts replicated").isPositive();
            for (int r = 0; r < 4; r++) {
                for (MemoryCategory c : state) {
                    assertThat(reference.get(r).get(c) - got.get(r).get(c)).as("%s rank %d %s", mode, r, c).isEqualTo(expertTotal.get(c) * 3 / 4);
                }
            }
        }
    }

    /** Live bytes per rank and category after two steps and an optimizer step under {@code plan}; replicas of the second step into {@code replicas}. */
    private static Map<Integer, Map<MemoryCategory, Long>> stateBytes(GPTConfig config, Plan plan, List<MemoryCategory> state,
                                                                   Map<Integer, Integer> replicas) {
        Map<Integer, Map<MemoryCategory, Long>> out = new ConcurrentHashMap<>();
        LocalWorld.run(4, CommOptions.defaults(), g -> {
            try (GPT model = GPT.initialized(config, 3);
                 ParallelModel pm = ParallelModel.parallelize(model, plan, ParallelModel.mesh(g, plan), TestKernels.FAST);
                 Optimizer adamw = Optimizers.create("adamw", OptimizerSettings.gpt(), pm.optimizerSlices(), TestKernels.FAST);
                 Tensor ids = tokens(g.rank() + 1, ROWS); Tensor targets = tokens(g.rank() + 5, ROWS)) {
                for (int s = 0; s < 2; s++) {
                    pm.zeroGrad();
                    pm.forwardBackward(List.of(ids), List.of(targets));
                }
                adamw.step(1e-3f);
                ExpertParallel ep = pm.expertParallel();
                if (ep != null) replicas.put(g.rank(), ep.placement(0).replicas() + ep.placement(1).replicas());
                Map<MemoryCategory, Long> bytes = new HashMap<>();
                for (MemoryCategory c : state) bytes.put(c, MemoryAccounting.current().live(c));
                out.put(g.rank(), bytes);
            }
        });
        return out;
    }

    /**
     * The order that makes the sparse all-gathers overlap attention, as one rank records it (ranks
     * as threads; the kernels wrapped to log attention calls): in the forward pass each block's
     * gather starts before its attention and is waited for after it; in the backward pass the
     * top block's gather (nothing above it) runs when its experts need it, and block 0's starts
     * before block 1's attention backward and is waited for after it. Order only, no timing.
     * Under full recomputation (replayed forwards gather too) the owners' gradients are the same
     * bits.
     */
    @Test
    void sparseAllGathersStartBeforeAttentionAndAreWaitedForAfterIt() {
        Plan fssdp = Plan.SINGLE.withMesh(new MeshShape(2, 1, 1)).withExperts(new ExpertLayout(2, ExpertLayout.Mode.FSSDP));
        Plan full = new Plan(fssdp.mesh(), fssdp.zero(), fssdp.microBatches(), fssdp.schedule(), fssdp.stageLayers(),
                RecomputePolicy.every(Recompute.FULL), fssdp.sequenceParallel(), fssdp.offload(), fssdp.precision(), fssdp.optimizer(),
                fssdp.outer(), fssdp.experts(), fssdp.attention());
        Map<Integer, List<String>> traces = new ConcurrentHashMap<>();
        Map<Integer, Map<String, float[]>> grads = overlapRun(fssdp, traces), replayed = overlapRun(full, new ConcurrentHashMap<>());
        for (int r = 0; r < 2; r++) {
            assertThat(traces.get(r)).as("rank %d", r).containsExactly(
                    "start gather 0 fwd", "attention fwd", "wait gather 0 fwd",
                    "start gather 1 fwd", "attention fwd", "wait gather 1 fwd",
                    "start gather 1 bwd", "wait gather 1 bwd",
                    "start gather 0 bwd", "attention bwd", "wait gather 0 bwd",
                    "attention bwd");
            assertThat(grads.get(r)).isNotEmpty();
            for (var e : grads.get(r).entrySet()) assertThat(replayed.get(r).get(e.getKey())).as("rank %d %s", r, e.getKey()).isEqualTo(e.getValue());
        }
    }

    /**
     * Two FSSDP steps of an MoE model with experts in every block on two thread ranks, the second
     * with replicas in both blocks; its gathers and attention calls into {@code traces}; returns
     * each rank's expert gradients after the second step.
     */
    private static Map<Integer, Map<String, float[]>> overlapRun(Plan plan, Map<Integer, List<String>> traces) {
        GPTConfig everyBlock = new GPTConfig(2, 2, 32, 64, 16).withMoe(new MoEConfig(4, 1, 1.25, true, 1, 0.01, 0.001, 3.0));
        Map<Integer, Map<String, float[]>> grads = new ConcurrentHashMap<>();
        LocalWorld.run(2, CommOptions.defaults(), g -> {
            List<String> trace = new ArrayList<>();
            try (GPT model = GPT.initialized(everyBlock, 3);
                 ParallelModel pm = ParallelModel.parallelize(model, plan, ParallelModel.mesh(g, plan), loggingAttention(TestKernels.FAST, trace));
                 Tensor ids = tokens(g.rank() + 1, ROWS); Tensor targets = tokens(g.rank() + 3, ROWS)) {
                ExpertParallel ep = pm.expertParallel();
                ep.observeGathers(new ExpertParallel.GatherEvents() {
                    @Override
                    public void started(int layer, boolean forBackward) {
                        trace.add("start gather " + layer + (forBackward ? " bwd" : " fwd"));
                    }

                    @Override
                    public void finished(int layer, boolean forBackward) {
                        trace.add("wait gather " + layer + (forBackward ? " bwd" : " fwd"));
                    }
                });
                for (int s = 0; s < 2; s++) {
                    trace.clear(); // the first step has no loads yet: nothing replicated, nothing gathered
                    pm.zeroGrad();
                    pm.forwardBackward(List.of(ids), List.of(targets));
                }
                assertThat(ep.placement(0).replicas()).as("rank %d: block 0 replicates", g.rank()).isPositive();
                assertThat(ep.placement(1).replicas()).as("rank %d: block 1 replicates", g.rank()).isPositive();
                Map<String, float[]> mine = new HashMap<>();
                for (ParamSlice sl : ep.optimizerSlices()) {
                    float[] v = new float[(int) sl.length()];
                    java.lang.foreign.MemorySegment.copy(sl.grad(), java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v, 0, v.length);
                    mine.put(sl.name(), v);
                }
                grads.put(g.rank(), mine);
            }
            traces.put(g.rank(), trace);
        });
        return grads;
    }

    /** {@code kernels} with each attention forward and backward logged to {@code trace}. */
    private static Kernels loggingAttention(Kernels kernels, List<String> trace) {
        AttentionKernels attention = kernels.attention();
        AttentionKernels logged = (AttentionKernels) Proxy.newProxyInstance(AttentionKernels.class.getClassLoader(),
                new Class<?>[] {AttentionKernels.class}, (proxy, method, args) -> {
                    if (method.getName().equals("forward") || method.getName().equals("backward")) {
                        trace.add("attention " + (method.getName().equals("forward") ? "fwd" : "bwd"));
                    }
                    return invoke(method, attention, args);
                });
        return (Kernels) Proxy.newProxyInstance(Kernels.class.getClassLoader(), new Class<?>[] {Kernels.class},
                (proxy, method, args) -> method.getName().equals("attention") ? logged : invoke(method, kernels, args));
    }

    private static Object invoke(Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static ProcessGroup oneRank() {
        return LocalWorld.create(1, CommOptions.defaults()).getFirst();
    }
}
