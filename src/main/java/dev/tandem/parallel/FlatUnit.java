package dev.tandem.parallel;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.comm.Work;
import dev.tandem.nn.Parameter;
import dev.tandem.optim.MatrixAssignment;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.ZeroStage;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The parameters of one module (a transformer block, or the embeddings with the final
 * LayerNorm) flattened into one buffer, padded to a multiple of the data-parallel size N so it
 * splits into N equal shards; rank r owns shard r. What is kept whole and what is kept as a shard
 * depends on the ZeRO stage:
 *
 * <pre>
 * stage   parameters        gradients                          optimizer state
 *   0     whole             whole, all-reduced                 whole (every rank updates all)
 *   1     whole             whole, all-reduced                 shard
 *   2     whole             shard (reduce-scatter)             shard
 *   3     shard (gathered   shard (reduce-scatter)             shard
 *         around use)
 * </pre>
 *
 * Whole buffers that exist only around a collective (gathered parameters at stage 3, the
 * unreduced gradient bucket at stages 2–3) are counted as communication memory.
 *
 * <p>Layout. A {@linkplain #sharded sharded} unit lays its parameters end to end and cuts equal
 * shards, so a shard may hold part of a parameter. An {@linkplain #ownedWhole owned-whole} unit
 * is for parameters an optimizer must see whole (Muon's and SOAP's matrices): each parameter gets
 * an owning rank ({@link MatrixAssignment}) and lies entirely inside its owner's shard, and every
 * shard is padded to the largest owner's total. The same collectives then do exactly what the
 * reference's distributed Muon does: the reduce-scatter leaves each owner the fully reduced
 * gradients of its matrices, the owner updates them whole, and the all-gather (stages 1–2) or the
 * next gather (stage 3) brings them to every rank.
 */
final class FlatUnit implements AutoCloseable {
    final String name;
    private final List<Parameter> params;
    private final long[] offsets;
    private final long total;
    private final long shard;
    private final ZeroStage stage;
    private final ProcessGroup group;
    private final Kernels kernels;

    private Tensor fullParams;   // stages 0–2: persistent; stage 3: while gathered
    private Tensor shardParams;  // stage 3
    private Tensor fullGrads;    // stages 0–1: persistent; stages 2–3: during backward
    private Tensor gradShard;    // stages 2–3
    private Tensor reduced;      // stages 2–3: reduce-scatter output before accumulation
    private Work pending;
    private Work gathering;      // stage 3: an all-gather started ahead of use (prefetch)

    /** Parameters end to end, cut into N equal shards. */
    static FlatUnit sharded(String name, List<Parameter> params, ZeroStage stage, ProcessGroup group, Kernels kernels) {
        return new FlatUnit(name, params, stage, group, null, kernels);
    }

    /**
     * Every parameter inside the shard of the rank that owns it. {@code firstOwner} breaks ties in
     * the assignment; rotating it from unit to unit spreads the largest matrices over the ranks.
     */
    static FlatUnit ownedWhole(String name, List<Parameter> params, ZeroStage stage, ProcessGroup group, int firstOwner, Kernels kernels) {
        long[] sizes = new long[params.size()];
        for (int i = 0; i < sizes.length; i++) sizes[i] = params.get(i).numel();
        return new FlatUnit(name, params, stage, group, MatrixAssignment.assign(sizes, group.size(), firstOwner), kernels);
    }

    /** @param owner the owning rank of each parameter, or null to cut equal shards */
    private FlatUnit(String name, List<Parameter> params, ZeroStage stage, ProcessGroup group, int[] owner, Kernels kernels) {
        this.name = name;
        this.kernels = kernels;
        this.params = List.copyOf(params);
        this.stage = stage;
        this.group = group;
        this.offsets = new long[params.size()];
        int n = group.size();
        long[] used = new long[n]; // elements laid out so far per owner; a sharded unit is one run, used[0]
        for (int i = 0; i < params.size(); i++) {
            int r = owner == null ? 0 : owner[i];
            offsets[i] = used[r];
            used[r] += params.get(i).numel();
        }
        this.total = Arrays.stream(used).sum();
        this.shard = owner == null ? (total + n - 1) / n : Arrays.stream(used).max().orElseThrow();
        if (owner != null) for (int i = 0; i < params.size(); i++) offsets[i] += owner[i] * shard;
        Tensor flat = Tensor.zeros(stage.shardsParameters() ? MemoryCategory.COMMUNICATION : MemoryCategory.PARAMETERS, padded());
        for (int i = 0; i < params.size(); i++) params.get(i).moveTo(view(flat, i));
        if (stage.shardsParameters()) {
            shardParams = Tensor.zeros(MemoryCategory.PARAMETERS, (int) shard);
            MemorySegment.copy(flat.data(), myStart() * 4, shardParams.data(), 0, shard * 4);
            unbindParams();
            flat.close();
        } else {
            fullParams = flat;
        }
        if (!stage.shardsGradients()) {
            fullGrads = Tensor.zeros(MemoryCategory.GRADIENTS, padded());
            bindGrads();
        } else {
            gradShard = Tensor.zeros(MemoryCategory.GRADIENTS, (int) shard);
        }
    }

    private int padded() {
        return Math.toIntExact(shard * group.size());
    }

    private long myStart() {
        return shard * group.rank();
    }

    private Tensor view(Tensor flat, int i) {
        Parameter p = params.get(i);
        int start = Math.toIntExact(offsets[i]);
        return flat.slice(start, Math.toIntExact(start + p.numel())).view(p.shape());
    }

    private void unbindParams() {
        for (Parameter p : params) p.bindValue(null);
    }

    private void bindGrads() {
        for (int i = 0; i < params.size(); i++) params.get(i).useGradBuffer(view(fullGrads, i));
    }

    /** Stage 3: starts all-gathering the parameters in the background (no-op if already started). */
    void prefetch() {
        if (!stage.shardsParameters() || fullParams != null) return;
        fullParams = Tensor.zeros(MemoryCategory.COMMUNICATION, padded());
        gathering = group.allGatherAsync(shardParams.data(), fullParams.data(), DType.F32, shard);
    }

    /** Stage 3: makes the whole parameters available, waiting for a prefetch if one is running. */
    void gather() {
        if (!stage.shardsParameters()) return;
        prefetch();
        if (gathering != null) {
            gathering.await();
            gathering = null;
            for (int i = 0; i < params.size(); i++) params.get(i).bindValue(view(fullParams, i));
        }
    }

    /** Stage 3: frees the gathered parameters. */
    void release() {
        if (!stage.shardsParameters() || fullParams == null) return;
        if (gathering != null) {
            gathering.await();
            gathering = null;
        }
        for (Parameter p : params) p.bindValue(null);
        fullParams.close();
        fullParams = null;
    }

    /**
     * Stages 2–3: a zeroed whole-gradient bucket for this backward pass. A reduction still running
     * from an earlier micro-batch is finished first, so its bucket is neither overwritten while in
     * flight nor counted twice.
     */
    void prepareGradients() {
        if (!stage.shardsGradients()) return;
        finishReduction();
        if (fullGrads != null) return;
        fullGrads = Tensor.zeros(MemoryCategory.COMMUNICATION, padded());
        bindGrads();
    }

    /**
     * Starts the gradient reduction of this unit (asynchronous, overlapping the rest of the
     * backward pass). Stages 0–1 reduce only on the last micro-batch (earlier ones accumulate
     * locally); stages 2–3 reduce-scatter every micro-batch into the shard, then drop the bucket.
     */
    void reduceGradients(boolean lastMicroBatch) {
        if (!stage.shardsGradients()) {
            if (lastMicroBatch) pending = group.allReduceAsync(fullGrads.data(), DType.F32, padded(), ReduceOp.AVG);
            return;
        }
        reduced = Tensor.zeros(MemoryCategory.COMMUNICATION, (int) shard);
        pending = group.reduceScatterAsync(fullGrads.data(), reduced.data(), DType.F32, shard, ReduceOp.AVG);
    }

    /** Waits for the reduction; stages 2–3 accumulate it into the shard and free the buffers. */
    void finishReduction() {
        if (pending == null) return;
        pending.await();
        pending = null;
        if (stage.shardsGradients()) {
            kernels.axpy(1f, reduced.data(), gradShard.data(), shard);
            reduced.close();
            reduced = null;
            for (Parameter p : params) p.unbindGrad();
            fullGrads.close();
            fullGrads = null;
        }
    }

    void zeroGrad() {
        if (fullGrads != null) fullGrads.fill(0f);
        if (gradShard != null) gradShard.fill(0f);
    }

    /** Stages 1–2: after the optimizer updated this rank's shard, every rank gets every shard. */
    void allGatherUpdatedParams() {
        if (!stage.gathersUpdatedShards()) return;
        try (Tensor mine = Tensor.zeros(MemoryCategory.COMMUNICATION, (int) shard)) {
            MemorySegment.copy(fullParams.data(), myStart() * 4, mine.data(), 0, shard * 4);
            group.allGather(mine.data(), fullParams.data(), DType.F32, shard);
        }
    }

    /**
     * What this rank's optimizer updates: every parameter whole at stage 0, otherwise this rank's
     * shard cut at parameter boundaries (padding excluded): in an owned-whole unit, the
     * parameters it owns.
     */
    List<ParamSlice> slices() {
        List<ParamSlice> out = new ArrayList<>();
        long lo = stage.shardsOptimizer() ? myStart() : 0, hi = stage.shardsOptimizer() ? myStart() + shard : padded();
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            long a = Math.max(lo, offsets[i]), b = Math.min(hi, offsets[i] + p.numel());
            if (a >= b) continue;
            MemorySegment value = stage.shardsParameters() ? shardParams.data().asSlice((a - lo) * 4, (b - a) * 4)
                    : fullParams.data().asSlice(a * 4, (b - a) * 4);
            MemorySegment grad = !stage.shardsGradients() ? fullGrads.data().asSlice(a * 4, (b - a) * 4)
                    : gradShard.data().asSlice((a - lo) * 4, (b - a) * 4);
            out.add(new ParamSlice(p.name(), p.shape(), p.decays(), a - offsets[i], b - a, value, grad));
        }
        return out;
    }

    long elements() {
        return total;
    }

    @Override
    public void close() {
        for (Parameter p : params) {
            p.unbindGrad();
            p.bindValue(null);
        }
        for (Tensor t : new Tensor[] {fullParams, shardParams, fullGrads, gradShard, reduced}) if (t != null) t.close();
        fullParams = shardParams = fullGrads = gradShard = reduced = null;
    }
}
