package dev.tandem.parallel;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Parameter;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Data parallelism with ZeRO stages 0–3, applied to a model from outside through {@link Hooks}.
 * Each module's parameters form one {@link FlatUnit}; the embeddings and the final LayerNorm
 * form the "root" unit, because the tied token embedding is used by the first module and by the
 * output head. At ZeRO ≥ 1 with an optimizer that needs whole matrices (Muon, SOAP), a module's
 * matrices form a second, owned-whole unit: each matrix lies inside one rank's shard, so that
 * rank receives its fully reduced gradient and updates it whole (see FlatUnit).
 *
 * <p>Per step: (stage 3) a unit's parameters are gathered before its forward and again before
 * its backward and freed after each; a unit's gradients are reduced as soon as its backward is
 * done, asynchronously, while earlier modules run their backward; {@link #finishGradients()}
 * waits for all reductions; the optimizer updates this rank's {@link #optimizerSlices()}; then
 * (stages 1–2) the updated shards are all-gathered.
 */
public final class DataParallel implements Hooks, AutoCloseable {
    private static final String ROOT = "root";

    private final ProcessGroup group;
    private final int stage;
    private final Map<String, List<FlatUnit>> modules = new LinkedHashMap<>(); // root and each block → its units
    private final List<FlatUnit> units = new ArrayList<>();
    private final List<String> blocks = new ArrayList<>();
    private boolean lastMicroBatch = true;
    private boolean training;
    private long blockedNanos;

    private DataParallel(GPT model, ProcessGroup group, int stage, Predicate<Parameter> updatedWhole) {
        this.group = group;
        this.stage = stage;
        Map<String, List<Parameter>> byModule = model.moduleParameters();
        List<Parameter> root = new ArrayList<>(byModule.get("embed"));
        for (Parameter p : byModule.get("head")) if (!root.contains(p)) root.add(p);
        addUnits(ROOT, root, updatedWhole);
        for (Map.Entry<String, List<Parameter>> e : byModule.entrySet()) {
            if (!e.getKey().equals("embed") && !e.getKey().equals("head")) {
                addUnits(e.getKey(), e.getValue(), updatedWhole);
                blocks.add(e.getKey());
            }
        }
    }

    /**
     * A module's units: its parameters cut into equal shards, except those the optimizer updates
     * whole, which go to an owned-whole unit (at ZeRO ≥ 1; at stage 0 every rank updates every
     * parameter whole anyway).
     */
    private void addUnits(String module, List<Parameter> params, Predicate<Parameter> updatedWhole) {
        List<Parameter> whole = new ArrayList<>(), rest = new ArrayList<>();
        for (Parameter p : params) (stage > 0 && updatedWhole.test(p) ? whole : rest).add(p);
        List<FlatUnit> us = new ArrayList<>();
        if (!rest.isEmpty()) us.add(FlatUnit.sharded(module, rest, stage, group));
        // The module's index decides who wins ties, so successive blocks put their largest matrix on different ranks.
        if (!whole.isEmpty()) us.add(FlatUnit.ownedWhole(module + " (whole)", whole, stage, group, modules.size()));
        modules.put(module, us);
        units.addAll(us);
    }

    /**
     * Wraps {@code model} for data parallelism over {@code group} at ZeRO {@code stage}, for an
     * element-wise optimizer (every parameter may be cut between ranks). Every rank must start
     * from the same parameters (same seed); the model's parameters move into flat buffers owned
     * by the returned object, which must be closed before the model.
     */
    public static DataParallel apply(GPT model, ProcessGroup group, int stage) {
        return apply(model, group, stage, p -> false);
    }

    /**
     * The same, for an optimizer that must update the parameters {@code updatedWhole} accepts
     * whole ({@code Optimizers.updatedWhole(name)}): at ZeRO ≥ 1 each of them is owned by one rank,
     * and {@link #optimizerSlices()} gives that rank the whole parameter.
     */
    public static DataParallel apply(GPT model, ProcessGroup group, int stage, Predicate<Parameter> updatedWhole) {
        return new DataParallel(model, group, stage, updatedWhole);
    }

    public int rank() {
        return group.rank();
    }

    public int size() {
        return group.size();
    }

    public int stage() {
        return stage;
    }

    public ProcessGroup group() {
        return group;
    }

    private List<FlatUnit> unitsOf(String module) {
        return modules.get(module.equals("embed") || module.equals("head") ? ROOT : module);
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

    /** The units of the transformer block that runs {@code offset} blocks after {@code module} (none past the ends). */
    private List<FlatUnit> block(String module, int offset) {
        int i = module.equals("embed") ? -1 : module.equals("head") ? blocks.size() : blocks.indexOf(module);
        int j = i + offset;
        return j >= 0 && j < blocks.size() ? modules.get(blocks.get(j)) : List.of();
    }

    @Override
    public void beforeForward(String module) {
        timed(() -> unitsOf(module).forEach(FlatUnit::gather));
        // Stage 3: start gathering the next block now, so it arrives while this one computes.
        block(module, 1).forEach(FlatUnit::prefetch);
    }

    @Override
    public void afterForward(String module) {
        // The root unit stays gathered from the embeddings through the head, and on into the
        // head's backward when one follows.
        if (module.equals("embed") || (module.equals("head") && training)) return;
        unitsOf(module).forEach(FlatUnit::release);
    }

    @Override
    public void beforeBackward(String module) {
        List<FlatUnit> us = unitsOf(module);
        timed(() -> us.forEach(FlatUnit::gather));
        us.forEach(FlatUnit::prepareGradients);
        block(module, -1).forEach(FlatUnit::prefetch);
    }

    @Override
    public void afterBackward(String module) {
        if (module.equals("head")) return; // the root unit's backward ends with the embeddings
        for (FlatUnit u : unitsOf(module)) {
            u.reduceGradients(lastMicroBatch);
            if (training) u.release();
        }
    }

    /** Waits for every gradient reduction of this step. */
    public void finishGradients() {
        timed(() -> units.forEach(FlatUnit::finishReduction));
    }

    /**
     * The parameter elements this rank's optimizer updates: at ZeRO ≥ 1 each element is in the
     * slices of exactly one rank; parameters that must be updated whole come whole.
     */
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
        double sq = 0;
        for (FlatUnit u : units) sq += u.localSquaredGradNorm();
        if (stage > 0) sq = sum(group, sq);
        double norm = Math.sqrt(sq);
        if (maxNorm > 0 && norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + 1e-6));
            for (FlatUnit u : units) u.scaleGradients(scale);
        }
        return norm;
    }

    /** After the optimizer step: every rank gets the updated parameters. */
    public void afterOptimizerStep() {
        timed(() -> units.forEach(FlatUnit::allGatherUpdatedParams));
    }

    /** Mean of {@code value} over ranks (e.g. the loss, for logging). */
    public double average(double value) {
        return sum(group, value) / group.size();
    }

    /** The sum of every rank's {@code value} over {@code group}, the same on every rank. */
    static double sum(ProcessGroup group, double value) {
        if (group.size() == 1) return value;
        // Collectives carry float32: each rank's double travels as hi + lo so nothing of it is
        // lost in transit; the sums themselves round at float32 precision (~1e-7 relative), which
        // is ample for a logged loss or a clipping norm, and identical on every rank.
        float hi = (float) value, lo = (float) (value - hi);
        try (Tensor f = Tensor.of(MemoryCategory.COMMUNICATION, new float[] {hi, lo}, 2)) {
            group.allReduce(f.data(), DType.F32, 2, ReduceOp.SUM);
            return (double) f.get(0) + f.get(1);
        }
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
