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

/**
 * Data parallelism with ZeRO stages 0–3, applied to a model from outside through {@link Hooks}.
 * Each module's parameters form one {@link FlatUnit}; the embeddings and the final LayerNorm
 * form the "root" unit, because the tied token embedding is used by the first module and by the
 * output head.
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
    private final Map<String, FlatUnit> units = new LinkedHashMap<>();
    private final List<String> blocks = new ArrayList<>();
    private boolean lastMicroBatch = true;
    private boolean training;
    private long blockedNanos;

    private DataParallel(GPT model, ProcessGroup group, int stage) {
        this.group = group;
        this.stage = stage;
        Map<String, List<Parameter>> modules = model.moduleParameters();
        List<Parameter> root = new ArrayList<>(modules.get("embed"));
        for (Parameter p : modules.get("head")) if (!root.contains(p)) root.add(p);
        units.put(ROOT, new FlatUnit(ROOT, root, stage, group));
        for (Map.Entry<String, List<Parameter>> e : modules.entrySet()) {
            if (!e.getKey().equals("embed") && !e.getKey().equals("head")) {
                units.put(e.getKey(), new FlatUnit(e.getKey(), e.getValue(), stage, group));
                blocks.add(e.getKey());
            }
        }
    }

    /**
     * Wraps {@code model} for data parallelism over {@code group} at ZeRO {@code stage}. Every rank
     * must start from the same parameters (same seed); the model's parameters move into flat
     * buffers owned by the returned object, which must be closed before the model.
     */
    public static DataParallel apply(GPT model, ProcessGroup group, int stage) {
        return new DataParallel(model, group, stage);
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

    private FlatUnit unitOf(String module) {
        return units.get(module.equals("embed") || module.equals("head") ? ROOT : module);
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

    /** The transformer block that runs {@code offset} blocks after {@code module}, or null. */
    private FlatUnit block(String module, int offset) {
        int i = module.equals("embed") ? -1 : module.equals("head") ? blocks.size() : blocks.indexOf(module);
        int j = i + offset;
        return j >= 0 && j < blocks.size() ? units.get(blocks.get(j)) : null;
    }

    @Override
    public void beforeForward(String module) {
        timed(unitOf(module)::gather);
        // Stage 3: start gathering the next block now, so it arrives while this one computes.
        FlatUnit next = block(module, 1);
        if (next != null) next.prefetch();
    }

    @Override
    public void afterForward(String module) {
        // The root unit stays gathered from the embeddings through the head, and on into the
        // head's backward when one follows.
        if (module.equals("embed") || (module.equals("head") && training)) return;
        unitOf(module).release();
    }

    @Override
    public void beforeBackward(String module) {
        FlatUnit u = unitOf(module);
        timed(u::gather);
        u.prepareGradients();
        FlatUnit previous = block(module, -1);
        if (previous != null) previous.prefetch();
    }

    @Override
    public void afterBackward(String module) {
        if (module.equals("head")) return; // the root unit's backward ends with the embeddings
        FlatUnit u = unitOf(module);
        u.reduceGradients(lastMicroBatch);
        if (training) u.release();
    }

    /** Waits for every gradient reduction of this step. */
    public void finishGradients() {
        timed(() -> units.values().forEach(FlatUnit::finishReduction));
    }

    /** The parameter elements this rank's optimizer updates. */
    public List<ParamSlice> optimizerSlices() {
        List<ParamSlice> out = new ArrayList<>();
        for (FlatUnit u : units.values()) out.addAll(u.slices());
        return out;
    }

    public void zeroGrad() {
        for (FlatUnit u : units.values()) u.zeroGrad();
    }

    /**
     * The global gradient norm, then clipping to {@code maxNorm} (0 = off). At stage 0 every rank
     * holds the whole reduced gradient; otherwise each holds a shard and the squares are summed
     * across ranks.
     */
    public double clipGradients(double maxNorm) {
        double sq = 0;
        for (FlatUnit u : units.values()) sq += u.localSquaredGradNorm();
        if (stage > 0) sq = sum(group, sq);
        double norm = Math.sqrt(sq);
        if (maxNorm > 0 && norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + 1e-6));
            for (FlatUnit u : units.values()) u.scaleGradients(scale);
        }
        return norm;
    }

    /** After the optimizer step: every rank gets the updated parameters. */
    public void afterOptimizerStep() {
        timed(() -> units.values().forEach(FlatUnit::allGatherUpdatedParams));
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
        for (FlatUnit u : units.values()) u.gather();
    }

    public void releaseAll() {
        for (FlatUnit u : units.values()) u.release();
    }

    /** Parameters in units, for reporting: Ψ (real elements). */
    public long parameterCount() {
        return units.values().stream().mapToLong(FlatUnit::elements).sum();
    }

    @Override
    public void close() {
        for (FlatUnit u : units.values()) u.close();
    }
}
