package dev.tandem.parallel;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.nn.ExpertMlp;
import dev.tandem.nn.ExpertWeights;
import dev.tandem.nn.Experts;
import dev.tandem.nn.GPT;
import dev.tandem.nn.MoEConfig;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Tape;
import dev.tandem.nn.Var;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.ExpertLayout;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Experts spread over an expert group of data-parallel ranks, applied to a model from outside:
 * each rank keeps the experts it owns (expert e on rank e / (n_experts / ep)) and frees the rest;
 * the model's MoE blocks run their experts through this object ({@link Experts}).
 *
 * <p>A block's forward: the ranks first exchange how many rows each sends to each expert
 * (all-to-all of counts), then the rows (all-to-all-v); each rank runs its experts on the rows it
 * received, and the outputs travel back the same way into the original order. The backward sends
 * the output gradients the same way and the input gradients back.
 *
 * <p>With {@link ExpertLayout.Mode#FSSDP} (Hecate) the expert group is the whole data-parallel
 * group and the owners stay the only holders of parameters and optimizer state, but each step a
 * placement ({@link ExpertPlacement#balanced}) from the last step's loads replicates hot experts
 * on other ranks: a sparse all-gather sends a replicated expert's parameters from its owner to its
 * holders before the block's forward and again before its backward (replicas are freed after
 * each, re-materialised rather than kept; both gathers overlap an attention, see
 * {@link #duringAttention}), tokens of an expert are split evenly among its holders,
 * and a sparse reduce-scatter sums the replicas' gradients onto the owner, which alone updates it.
 *
 * <p>Gradients: rows from every data-parallel rank reach the owner, each already seeded with its
 * rank's loss scale, so the owner's sum is scaled by 1/dp (the mean over replicas that data
 * parallelism takes), after summing over the dp / ep groups holding the same experts.
 */
public final class ExpertParallel implements Experts, AutoCloseable {
    private static final double REPLICATE_ABOVE_MEAN = 1.05;

    private final ProcessGroup group;
    private final ProcessGroup replicaGroup; // ranks owning the same experts in other expert groups; null when ep = dp
    private final int dpSize, nExperts, perRank, expertElements;
    private final boolean fssdp;
    private final Kernels kernels;
    private final List<Parameter> owned = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final List<Integer> layers = new ArrayList<>();
    private final Map<Integer, double[]> loads = new HashMap<>();
    private final Map<Integer, ExpertPlacement> placements = new HashMap<>();
    private final Map<Integer, List<ExpertWeights>> blockExperts = new HashMap<>();
    // Sparse all-gathers started ahead of the MoE block that needs them, by block (FSSDP).
    private final Map<Integer, ReplicaGather> forwardGathers = new HashMap<>(), backwardGathers = new HashMap<>();
    private GatherEvents events = GatherEvents.NONE;
    private long bytesSent, rowsComputed, replicaBytesSent;

    private ExpertParallel(GPT model, ProcessGroup dp, ExpertLayout layout, Kernels kernels) {
        MoEConfig moe = model.config().moe();
        int ep = layout.ep(), r = dp.rank();
        this.dpSize = dp.size();
        this.nExperts = moe.nExperts();
        this.perRank = nExperts / ep;
        this.fssdp = layout.mode() == ExpertLayout.Mode.FSSDP;
        this.kernels = kernels;
        int c = model.config().nEmbd(), f = 4 * c;
        this.expertElements = c * f + f + f * c + c;
        List<Integer> members = new ArrayList<>(), same = new ArrayList<>();
        for (int i = 0; i < ep; i++) members.add(r / ep * ep + i);
        for (int j = 0; j < dp.size() / ep; j++) same.add(j * ep + r % ep);
        this.group = dp.subgroup("ep", members);
        this.replicaGroup = same.size() > 1 ? dp.subgroup("ep_replicas", same) : null;
        for (int layer = 0; layer < model.config().nLayer(); layer++) {
            if (!moe.isMoeLayer(layer)) continue;
            layers.add(layer);
            List<ExpertWeights> ws = model.experts(layer);
            blockExperts.put(layer, ws);
            for (int e = 0; e < nExperts; e++) {
                for (Parameter p : ws.get(e).all()) {
                    names.add(p.name());
                    if (ExpertPlacement.owner(e, nExperts, ep) == group.rank()) {
                        p.grad(); // allocated once: the optimizer's slices point at it
                        owned.add(p);
                    } else {
                        Tensor v = p.value();
                        p.bindValue(null);
                        v.close();
                    }
                }
            }
            placements.put(layer, ExpertPlacement.owners(nExperts, ep));
            loads.put(layer, new double[nExperts]);
        }
    }

    /** Spreads {@code model}'s experts over expert groups of {@code layout.ep()} ranks of {@code dp}. */
    public static ExpertParallel apply(GPT model, ProcessGroup dp, ExpertLayout layout, Kernels kernels) {
        return new ExpertParallel(model, dp, layout, kernels);
    }

    /** Whether this strategy (not data parallelism) manages {@code p}. */
    public boolean manages(Parameter p) {
        return names.contains(p.name());
    }

    /** Whether {@code s} (an expert slice of this rank) is the copy that counts: the first expert group's. */
    public boolean owns(ParamSlice s) {
        return names.contains(s.name()) && (replicaGroup == null || replicaGroup.rank() == 0);
    }

    public boolean managesName(String name) {
        return names.contains(name);
    }

    /** The experts this rank updates, whole. */
    public List<ParamSlice> optimizerSlices() {
        return ParamSlice.wholes(owned);
    }

    public void zeroGrad() {
        for (Parameter p : owned) p.grad().fill(0f);
    }

    /**
     * Before a step's first forward: with FSSDP, each block's placement from the loads of the last
     * step (summed over the group; the first step replicates nothing).
     */
    public void beginStep() {
        if (!fssdp) return;
        dropGathersAhead(); // only a failed pass leaves any: they served last step's placement
        for (int layer : layers) {
            double[] load = loads.get(layer);
            try (Tensor t = Tensor.zeros(MemoryCategory.COMMUNICATION, nExperts)) {
                for (int e = 0; e < nExperts; e++) t.set(e, (float) load[e]);
                group.allReduce(t.data(), DType.F32, nExperts, ReduceOp.SUM);
                for (int e = 0; e < nExperts; e++) load[e] = t.get(e);
            }
            placements.put(layer, ExpertPlacement.balanced(load, group.size(), perRank, REPLICATE_ABOVE_MEAN));
            java.util.Arrays.fill(load, 0);
        }
    }

    private void dropGathersAhead() {
        for (Map<Integer, ReplicaGather> ahead : List.of(forwardGathers, backwardGathers)) {
            ahead.values().forEach(ReplicaGather::close);
            ahead.clear();
        }
    }

    /**
     * Where this rank starts and finishes each sparse all-gather of replicas that moves something:
     * what shows that the gathers overlap attention (a test reads it; nothing else depends on it).
     */
    public interface GatherEvents {
        /** Block {@code layer}'s gather (for its forward, or again for its backward) was issued. */
        void started(int layer, boolean forBackward);

        /** The block's experts needed the replicas: the gather was waited for. */
        void finished(int layer, boolean forBackward);

        GatherEvents NONE = new GatherEvents() {
            @Override
            public void started(int layer, boolean forBackward) {}

            @Override
            public void finished(int layer, boolean forBackward) {}
        };
    }

    /** Reports this rank's sparse all-gathers to {@code events} from now on. */
    public void observeGathers(GatherEvents events) {
        this.events = events;
    }

    /**
     * FSSDP overlaps the sparse all-gathers with attention. In the forward pass an MoE block's
     * gather starts before its attention and is waited for when its experts run. In the backward
     * pass the point after an attention's forward comes just before that attention's backward, so
     * the next MoE block down starts gathering its replicas again there; the topmost MoE block,
     * with no attention above it, gathers when its backward needs them.
     */
    @Override
    public Var duringAttention(Tape tape, int layer, Supplier<Var> attention) {
        if (!fssdp) return attention.get();
        if (placements.containsKey(layer)) {
            ReplicaGather stale = forwardGathers.put(layer, startGather(layer, placements.get(layer), false));
            if (stale != null) stale.close();
        }
        Var out = attention.get();
        int below = -1;
        for (int l : layers) if (l < layer) below = l;
        if (below >= 0) {
            int next = below;
            tape.atBackward(() -> {
                if (!backwardGathers.containsKey(next)) backwardGathers.put(next, startGather(next, placements.get(next), true));
            });
        }
        return out;
    }

    /** The placement block {@code layer} uses this step. */
    public ExpertPlacement placement(int layer) {
        return placements.get(layer);
    }

    /** After the step's backward: sums each expert's gradient over the groups holding it and scales it by 1/dp. */
    public void finishGradients() {
        for (Parameter p : owned) {
            Tensor g = p.grad();
            if (replicaGroup != null) replicaGroup.allReduce(g.data(), DType.F32, g.numel(), ReduceOp.SUM);
            kernels.scale(g.data(), 1f / dpSize, g.numel());
        }
    }

    /** Bytes this rank sent to other ranks (tokens, and with FSSDP replicas and their gradients) since the last call; then resets. */
    public long takeBytesSent() {
        long b = bytesSent;
        bytesSent = 0;
        return b;
    }

    /** Of {@link #takeBytesSent}, the sparse all-gather and reduce-scatter of replicas (FSSDP) since the last call; then resets. */
    public long takeReplicaBytesSent() {
        long b = replicaBytesSent;
        replicaBytesSent = 0;
        return b;
    }

    /** Expert rows this rank computed in forward passes since the last call; then resets. */
    public long takeRowsComputed() {
        long n = rowsComputed;
        rowsComputed = 0;
        return n;
    }

    /** Copies expert parameter {@code p} from the rank of the expert group that holds it into {@code dst} (a collective of the group). */
    public void gatherInto(Parameter p, Tensor dst, int expert) {
        int holder = ExpertPlacement.owner(expert, nExperts, group.size());
        if (holder == group.rank()) dst.copyFrom(p.value());
        group.broadcast(dst.data(), DType.F32, dst.numel(), holder);
    }

    @Override
    public Pass forward(Tape tape, Kernels k, int layer, List<ExpertWeights> ws, Tensor rows, int[] counts) {
        ExpertPlacement pl = placements.get(layer);
        int c = rows.dim(1), f = ws.getFirst().fcWeight().shape()[1];
        if (tape.recording()) {
            double[] load = loads.get(layer);
            for (int e = 0; e < nExperts; e++) load[e] += counts[e];
        }
        Route route = Route.of(pl, counts, group, c);
        bytesSent += route.countBytes;
        Tensor x = tape.scratch(DType.F32, route.held, c);
        try (Tensor send = route.pack(rows, c); Tensor recv = exchange(send, route.sendRows, route.recvRows, c)) {
            route.toExpertMajor(recv, x, c);
        }
        Tensor h = tape.scratch(DType.F32, route.held, f), act = tape.scratch(DType.F32, route.held, f);
        Tensor y = tape.scratch(DType.F32, route.held, c);
        Map<Integer, ExpertWeights> replicas = replicas(forwardGathers, layer, pl, false);
        try {
            route.eachHeld((e, r0, n) -> ExpertMlp.forward(k, weights(e, ws, replicas), rows(x, r0, n, c), rows(h, r0, n, f),
                    rows(act, r0, n, f), rows(y, r0, n, c), n, c));
        } finally {
            replicas.values().forEach(w -> w.all().forEach(Parameter::close)); // re-materialised for the backward
        }
        rowsComputed += route.held;
        Tensor output = tape.scratch(DType.F32, rows.dim(0), c);
        try (Tensor bySource = Tensor.zeros(MemoryCategory.ACTIVATIONS, route.held, c)) {
            route.toSourceMajor(y, bySource, c);
            try (Tensor back = exchange(bySource, route.recvRows, route.sendRows, c)) {
                route.unpack(back, output, c);
            }
        }
        List<Parameter> params = new ArrayList<>();
        for (int e = 0; e < nExperts; e++) if (ws.get(e).held()) params.addAll(ws.get(e).all());
        return new Pass() {
            @Override
            public Tensor output() {
                return output;
            }

            @Override
            public void backward(Tensor dOutput, Tensor dRows) {
                try (Tensor dY = Tensor.zeros(MemoryCategory.ACTIVATIONS, route.held, c);
                     Tensor dX = Tensor.zeros(MemoryCategory.ACTIVATIONS, route.held, c)) {
                    try (Tensor send = route.pack(dOutput, c); Tensor recv = exchange(send, route.sendRows, route.recvRows, c)) {
                        route.toExpertMajor(recv, dY, c);
                    }
                    Map<Integer, ExpertWeights> again = replicas(backwardGathers, layer, pl, true);
                    try {
                        route.eachHeld((e, r0, n) -> ExpertMlp.backward(k, weights(e, ws, again), rows(x, r0, n, c), rows(h, r0, n, f),
                                rows(act, r0, n, f), rows(dY, r0, n, c), rows(dX, r0, n, c), n, c));
                        reduceReplicaGradients(pl, ws, again);
                    } finally {
                        again.values().forEach(w -> w.all().forEach(Parameter::close));
                    }
                    try (Tensor bySource = Tensor.zeros(MemoryCategory.ACTIVATIONS, route.held, c)) {
                        route.toSourceMajor(dX, bySource, c);
                        try (Tensor back = exchange(bySource, route.recvRows, route.sendRows, c);
                             Tensor unpacked = Tensor.zeros(MemoryCategory.ACTIVATIONS, dRows.dim(0), c)) {
                            route.unpack(back, unpacked, c);
                            k.axpy(1f, unpacked.data(), dRows.data(), unpacked.numel());
                        }
                    }
                }
            }

            @Override
            public List<Parameter> parameters() {
                return params;
            }
        };
    }

    private static ExpertWeights weights(int e, List<ExpertWeights> ws, Map<Integer, ExpertWeights> replicas) {
        ExpertWeights r = replicas.get(e);
        return r != null ? r : ws.get(e);
    }

    private static MemorySegment rows(Tensor t, int first, int n, int cols) {
        return t.data().asSlice((long) first * cols * 4, (long) n * cols * 4);
    }

    /** All-to-all-v of rows of {@code cols} floats: {@code sendRows[d]} rows to rank d, {@code recvRows[s]} from rank s. */
    private Tensor exchange(Tensor send, long[] sendRows, long[] recvRows, int cols) {
        long total = 0;
        long[] sc = new long[sendRows.length], rc = new long[recvRows.length];
        for (int i = 0; i < sc.length; i++) {
            sc[i] = sendRows[i] * cols;
            rc[i] = recvRows[i] * cols;
            total += recvRows[i];
            if (i != group.rank()) bytesSent += sc[i] * 4;
        }
        Tensor recv = Tensor.zeros(MemoryCategory.COMMUNICATION, Math.toIntExact(total), cols);
        group.allToAllV(send.data(), sc, recv.data(), rc, DType.F32);
        return recv;
    }

    /** Starts block {@code layer}'s SparseAllGather of the replicas of {@code pl} ({@link ReplicaGather}). */
    private ReplicaGather startGather(int layer, ExpertPlacement pl, boolean forBackward) {
        ReplicaGather g = new ReplicaGather(group, pl, blockExperts.get(layer), expertElements);
        replicaBytesSent += g.bytesSent();
        bytesSent += g.bytesSent();
        if (pl.replicas() > 0) events.started(layer, forBackward);
        return g;
    }

    /**
     * This rank's replicas of block {@code layer}: from the gather started ahead of time
     * ({@link #duringAttention}) when there is one for this placement, else gathered now (a forward
     * outside a block, as in generation; the topmost MoE block's backward).
     */
    private Map<Integer, ExpertWeights> replicas(Map<Integer, ReplicaGather> ahead, int layer, ExpertPlacement pl, boolean forBackward) {
        ReplicaGather g = ahead.remove(layer);
        if (g != null && g.placement() != pl) {
            g.close();
            g = null;
        }
        if (g == null) g = startGather(layer, pl, forBackward);
        Map<Integer, ExpertWeights> out = g.replicas();
        if (pl.replicas() > 0) events.finished(layer, forBackward);
        return out;
    }

    /** SparseReduceScatter: each replica's gradients to the expert's owner, which adds them to its own. */
    private void reduceReplicaGradients(ExpertPlacement pl, List<ExpertWeights> ws, Map<Integer, ExpertWeights> replicas) {
        if (pl.replicas() == 0) return;
        int me = group.rank(), per = expertElements;
        long[] sc = new long[group.size()], rc = new long[group.size()];
        for (int e = 0; e < nExperts; e++) {
            int[] hs = pl.holders()[e];
            for (int j = 1; j < hs.length; j++) {
                if (hs[j] == me) sc[hs[0]] += per;
                if (hs[0] == me) rc[hs[j]] += per;
            }
        }
        try (Tensor send = Tensor.zeros(MemoryCategory.COMMUNICATION, Math.toIntExact(sum(sc)));
             Tensor recv = Tensor.zeros(MemoryCategory.COMMUNICATION, Math.toIntExact(sum(rc)))) {
            long[] offsets = offsets(sc);
            for (int e = 0; e < nExperts; e++) {
                int owner = pl.holders()[e][0];
                ExpertWeights r = replicas.get(e);
                if (r == null) continue;
                for (Parameter q : r.all()) {
                    MemorySegment.copy(q.grad().data(), 0, send.data(), offsets[owner] * 4, q.grad().byteSize());
                    offsets[owner] += q.numel();
                }
            }
            group.allToAllV(send.data(), sc, recv.data(), rc, DType.F32);
            countReplicaBytes(sc, me);
            long[] from = offsets(rc);
            for (int e = 0; e < nExperts; e++) {
                int[] hs = pl.holders()[e];
                if (hs[0] != me) continue;
                for (int j = 1; j < hs.length; j++) {
                    for (Parameter p : ws.get(e).all()) {
                        kernels.axpy(1f, recv.data().asSlice(from[hs[j]] * 4, p.numel() * 4), p.grad().data(), p.numel());
                        from[hs[j]] += p.numel();
                    }
                }
            }
        }
    }

    private void countReplicaBytes(long[] sentFloats, int me) {
        for (int d = 0; d < sentFloats.length; d++) {
            if (d == me) continue;
            replicaBytesSent += sentFloats[d] * 4;
            bytesSent += sentFloats[d] * 4;
        }
    }

    static long sum(long[] a) {
        long s = 0;
        for (long x : a) s += x;
        return s;
    }

    static long[] offsets(long[] counts) {
        long[] o = new long[counts.length];
        for (int i = 1; i < counts.length; i++) o[i] = o[i - 1] + counts[i - 1];
        return o;
    }

    /** Closes the groups this strategy built; the model's parameters stay with the model. */
    @Override
    public void close() {
        dropGathersAhead();
        group.close();
        if (replicaGroup != null) replicaGroup.close();
    }
}
