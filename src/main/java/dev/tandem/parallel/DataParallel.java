package dev.tandem.parallel;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Parameter;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.ZeroStage;
import dev.tandem.tensor.Kernels;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Data parallelism with ZeRO stages 0–3, applied to a model from outside through {@link Hooks}.
 * Each module's parameters form one {@link FlatUnit}, except that modules sharing a parameter on
 * this rank share a unit: with the whole model on the rank, the embeddings and the final LayerNorm
 * form one unit (named "embed"), because the tied token embedding is used by the first module and
 * by the output head. A rank may hold only some modules (a pipeline stage); a parameter it shares
 * with a module held elsewhere then gets a unit of its own (named after the parameter), so that
 * both holders cut it into the same shards. At ZeRO ≥ 1 with an optimizer that needs whole
 * matrices (Muon, SOAP), a unit's matrices form a second, owned-whole unit: each matrix lies inside
 * one rank's shard, so that rank receives its fully reduced gradient and updates it whole (see
 * FlatUnit).
 *
 * <p>Per step: (stage 3) a unit's parameters are gathered before its forward and again before
 * its backward and freed after each; a unit's gradients are reduced as soon as the backward of
 * its first module is done, asynchronously, while earlier modules run their backward;
 * {@link #finishGradients()} waits for all reductions; the optimizer updates this rank's
 * {@link #optimizerSlices()}; then (stages 1–2) the updated shards are all-gathered.
 */
public final class DataParallel implements Hooks, AutoCloseable {
    private final ProcessGroup group;
    private final ZeroStage stage;
    private final Kernels kernels;
    private final List<FlatUnit> units = new ArrayList<>();
    /** The units each module held on this rank uses. */
    private final Map<String, List<FlatUnit>> unitsOf = new LinkedHashMap<>();
    /** All of the model's modules, in forward order. */
    private final List<String> order;
    private boolean lastMicroBatch = true;
    private boolean training;
    private long blockedNanos;

    private DataParallel(GPT model, ProcessGroup group, ZeroStage stage, Collection<String> held, Predicate<Parameter> updatedWhole,
                         Predicate<Parameter> managedElsewhere, Kernels kernels) {
        this.group = group;
        this.stage = stage;
        this.kernels = kernels;
        // Frozen parameters (PEQA) stay where they are, whole on every rank: no gradient, nothing to reduce or update.
        Map<String, List<Parameter>> modules = new LinkedHashMap<>();
        model.moduleParameters().forEach((m, ps) -> modules.put(m, ps.stream().filter(p -> !p.frozen() && !managedElsewhere.test(p)).toList()));
        this.order = List.copyOf(modules.keySet());
        for (String m : held) {
            if (!modules.containsKey(m)) throw new IllegalArgumentException("the model has no module '" + m + "'; modules: " + order);
        }
        Set<Parameter> heldElsewhere = Collections.newSetFromMap(new IdentityHashMap<>());
        for (String m : order) if (!held.contains(m)) heldElsewhere.addAll(modules.get(m));
        Map<String, List<Parameter>> unitParams = new LinkedHashMap<>();
        Map<Parameter, String> unitOf = new IdentityHashMap<>();
        for (String m : order) {
            if (!held.contains(m)) continue;
            // A module joins the unit of an earlier module it shares a parameter with, else starts its own.
            String unit = m;
            for (Parameter p : modules.get(m)) {
                if (unitOf.containsKey(p) && !heldElsewhere.contains(p)) unit = unitOf.get(p);
            }
            for (Parameter p : modules.get(m)) {
                if (unitOf.containsKey(p)) continue;
                String u = heldElsewhere.contains(p) ? p.name() : unit;
                unitParams.computeIfAbsent(u, k -> new ArrayList<>()).add(p);
                unitOf.put(p, u);
            }
        }
        Map<String, List<FlatUnit>> byName = new LinkedHashMap<>();
        // A unit's index picks the owner of its first whole matrix. A parameter shared with a module on
        // another rank (the tied embedding at both pipeline ends) must get the same owner on both
        // sides, so its unit's index cannot depend on what else this rank holds.
        unitParams.forEach((name, params) -> byName.put(name, flatUnits(name, params, updatedWhole,
                heldElsewhere.contains(params.getFirst()) ? 0 : byName.size())));
        for (String m : order) {
            if (!held.contains(m)) continue;
            List<FlatUnit> us = new ArrayList<>();
            for (Parameter p : modules.get(m)) {
                for (FlatUnit u : byName.get(unitOf.get(p))) if (!us.contains(u)) us.add(u);
            }
            unitsOf.put(m, us);
        }
    }

    /**
     * A unit's parameters cut into equal shards, except those the optimizer updates whole, which go
     * to an owned-whole unit (at ZeRO ≥ 1; at stage 0 every rank updates every parameter whole anyway).
     */
    private List<FlatUnit> flatUnits(String name, List<Parameter> params, Predicate<Parameter> updatedWhole, int index) {
        List<Parameter> whole = new ArrayList<>(), rest = new ArrayList<>();
        for (Parameter p : params) (stage.shardsOptimizer() && updatedWhole.test(p) ? whole : rest).add(p);
        List<FlatUnit> us = new ArrayList<>();
        if (!rest.isEmpty()) us.add(FlatUnit.sharded(name, rest, stage, group, kernels));
        // The unit's index decides who wins ties, so successive blocks put their largest matrix on different ranks.
        if (!whole.isEmpty()) us.add(FlatUnit.ownedWhole(name + " (whole)", whole, stage, group, index, kernels));
        units.addAll(us);
        return us;
    }

    /**
     * Wraps {@code model} for data parallelism over {@code group} at ZeRO {@code stage}, for an
     * element-wise optimizer (every parameter may be cut between ranks). Every rank must start
     * from the same parameters (same seed); the model's parameters move into flat buffers owned
     * by the returned object, which must be closed before the model. {@code kernels} accumulate and
     * clip the gradients.
     */
    public static DataParallel apply(GPT model, ProcessGroup group, ZeroStage stage, Kernels kernels) {
        return apply(model, group, stage, model.moduleParameters().keySet(), p -> false, kernels);
    }

    /**
     * The same, for an optimizer that must update the parameters {@code updatedWhole} accepts
     * whole ({@code Optimizers.updatedWhole(name)}): at ZeRO ≥ 1 each of them is owned by one rank,
     * and {@link #optimizerSlices()} gives that rank the whole parameter.
     */
    public static DataParallel apply(GPT model, ProcessGroup group, ZeroStage stage, Predicate<Parameter> updatedWhole, Kernels kernels) {
        return apply(model, group, stage, model.moduleParameters().keySet(), updatedWhole, kernels);
    }

    /**
     * Wraps only the named {@code modules} of {@code model} (e.g. one pipeline stage's; names as
     * in {@link GPT#moduleParameters()}); parameters used by no held module are left alone.
     */
    public static DataParallel apply(GPT model, ProcessGroup group, ZeroStage stage, Collection<String> modules, Kernels kernels) {
        return apply(model, group, stage, modules, p -> false, kernels);
    }

    /** The general form: the named {@code modules}, with {@code updatedWhole} parameters owned whole. */
    public static DataParallel apply(GPT model, ProcessGroup group, ZeroStage stage, Collection<String> modules,
                                     Predicate<Parameter> updatedWhole, Kernels kernels) {
        return new DataParallel(model, group, stage, Set.copyOf(modules), updatedWhole, p -> false, kernels);
    }

    /**
     * Every module of {@code model}, leaving out the parameters another strategy manages (experts
     * spread by {@link ExpertParallel}: not replicated on every data-parallel rank).
     */
    public static DataParallel applyExcept(GPT model, ProcessGroup group, ZeroStage stage, Predicate<Parameter> updatedWhole,
                                           Predicate<Parameter> managedElsewhere, Kernels kernels) {
        return new DataParallel(model, group, stage, Set.copyOf(model.moduleParameters().keySet()), updatedWhole, managedElsewhere, kernels);
    }

    public int rank() {
        return group.rank();
    }

    public int size() {
        return group.size();
    }

    public ZeroStage stage() {
        return stage;
    }

    public ProcessGroup group() {
        return group;
    }

    /** The kernels the gradients are accumulated and clipped with (those of the rank's ops). */
    public Kernels kernels() {
        return kernels;
    }

    /** Marks the micro-batch about to run (stages 0–1 reduce gradients only after the last). */
    public void beginMicroBatch(int index, int count) {
        lastMicroBatch = index == count - 1;
        training = true;
    }

    /** Marks forward passes that will not be differentiated (evaluation). */
    public void beginInference() {
        training = false;
    }

    /** Time this rank spent blocked in communication since the last call (then resets). */
    public double takeBlockedMillis() {
        double ms = blockedNanos / 1e6;
        blockedNanos = 0;
        return ms;
    }

    private void timed(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        blockedNanos += System.nanoTime() - t0;
    }

    private List<FlatUnit> unitsOf(String module) {
        List<FlatUnit> us = unitsOf.get(module);
        if (us == null) throw new IllegalStateException("module '" + module + "' runs on a rank that does not hold its parameters");
        return us;
    }

    /** The units of the module {@code offset} places after {@code module} in the model, if this rank holds it. */
    private List<FlatUnit> neighbour(String module, int offset) {
        int j = order.indexOf(module) + offset;
        return j >= 0 && j < order.size() ? unitsOf.getOrDefault(order.get(j), List.of()) : List.of();
    }

    /** Whether {@code module} is the first (in forward order) of this rank's modules that use {@code u}. */
    private boolean firstUser(String module, FlatUnit u) {
        for (Map.Entry<String, List<FlatUnit>> e : unitsOf.entrySet()) if (e.getValue().contains(u)) return e.getKey().equals(module);
        return false;
    }

    /** Whether a module after {@code module} in this rank's forward also uses {@code u}. */
    private boolean usedLater(String module, FlatUnit u) {
        for (int j = order.indexOf(module) + 1; j < order.size(); j++) {
            if (unitsOf.getOrDefault(order.get(j), List.of()).contains(u)) return true;
        }
        return false;
    }

    @Override
    public void beforeForward(String module) {
        for (FlatUnit u : unitsOf(module)) timed(u::gather);
        // Stage 3: start gathering the next module now, so it arrives while this one computes.
        for (FlatUnit u : neighbour(module, 1)) u.prefetch();
    }

    @Override
    public void afterForward(String module) {
        // A unit stays gathered while a later module of this forward uses it (the embeddings' unit,
        // through the head), and the output head's stays on into its backward.
        boolean head = order.indexOf(module) == order.size() - 1;
        for (FlatUnit u : unitsOf(module)) if (!usedLater(module, u) && !(head && training)) u.release();
    }

    @Override
    public void beforeBackward(String module) {
        for (FlatUnit u : unitsOf(module)) {
            timed(u::gather);
            u.prepareGradients();
        }
        for (FlatUnit u : neighbour(module, -1)) u.prefetch();
    }

    @Override
    public void afterBackward(String module) {
        // A unit's backward ends with its first module (the embeddings' unit's with the embeddings).
        for (FlatUnit u : unitsOf(module)) {
            if (!firstUser(module, u)) continue;
            u.reduceGradients(lastMicroBatch);
            if (training) u.release();
        }
    }

    /** Waits for every gradient reduction of this step. */
    public void finishGradients() {
        timed(() -> units.forEach(FlatUnit::finishReduction));
    }

    /** The parameter elements this rank's optimizer updates. */
    public List<ParamSlice> optimizerSlices() {
        List<ParamSlice> out = new ArrayList<>();
        for (FlatUnit u : units) out.addAll(u.slices());
        return out;
    }

    public void zeroGrad() {
        for (FlatUnit u : units) u.zeroGrad();
    }

    /**
     * The global gradient norm, then clipping to {@code maxNorm} (0 = off). At stage 0 every rank
     * holds the whole reduced gradient; otherwise each holds a shard and the squares are summed
     * across ranks.
     */
    public double clipGradients(double maxNorm) {
        return GradientNorm.clip(optimizerSlices(), s -> true, stage.shardsOptimizer() ? List.of(group) : List.of(), maxNorm, kernels);
    }

    /** After the optimizer step: every rank gets the updated parameters. */
    public void afterOptimizerStep() {
        timed(() -> units.forEach(FlatUnit::allGatherUpdatedParams));
    }

    /** Mean of {@code value} over ranks (e.g. the loss, for logging). */
    public double average(double value) {
        return GroupSum.of(group, value) / group.size();
    }

    /** Stage 3: gathers every unit (e.g. to save the whole model); undo with {@link #releaseAll()}. */
    public void gatherAll() {
        for (FlatUnit u : units) u.gather();
    }

    public void releaseAll() {
        for (FlatUnit u : units) u.release();
    }

    /** Parameters in units, for reporting: Ψ (real elements). */
    public long parameterCount() {
        return units.stream().mapToLong(FlatUnit::elements).sum();
    }

    @Override
    public void close() {
        for (FlatUnit u : units) u.close();
    }
}
