package dev.tandem.parallel.context;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Ops;
import dev.tandem.nn.PackedDocuments;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Sequences;
import dev.tandem.nn.Tape;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One step's forward and backward over a pool of ranks that each hold the whole model, run as a
 * {@link StepSchedule} says: this rank runs its placements in order, each as one micro-batch
 * (packed sequences, a padded row, or its shard of a ring), so ranks may run different numbers
 * of micro-batches. Each micro-batch's loss is weighted by its share of all the step's counted
 * targets, and the gradients are summed over the pool once at the end, so every rank ends with
 * the gradient of the mean loss over the step's tokens: what one rank computes on the whole batch.
 */
public final class HybridStep implements AutoCloseable {
    private final ProcessGroup pool;
    private final Kernels kernels;
    private final RecomputePolicy recompute;
    /** Ring groups by their ranks, made once (a subgroup is created by its members alone, without communication). */
    private final Map<String, ProcessGroup> rings = new HashMap<>();
    private double computeSeconds;

    public HybridStep(ProcessGroup pool, Kernels kernels, RecomputePolicy recompute) {
        this.pool = pool;
        this.kernels = kernels;
        this.recompute = recompute;
    }

    /**
     * Accumulates into {@code model}'s gradients (which should start at zero) the gradient of the
     * mean loss over every counted target of {@code sequences}, summed over the pool; returns that
     * loss (the same on every rank).
     */
    public double run(GPT model, List<TokenSequence> sequences, StepSchedule schedule) {
        if (schedule.ranks() != pool.size()) {
            throw new IllegalArgumentException("schedule for " + schedule.ranks() + " ranks, pool has " + pool.size());
        }
        long total = sequences.stream().mapToLong(TokenSequence::counted).sum();
        double loss = 0;
        long start = System.nanoTime();
        for (Placement p : schedule.of(pool.rank())) {
            MicroBatch m = microBatch(p, sequences);
            if (m.counted == 0) continue;
            float share = (float) ((double) m.counted / total);
            try (Tensor ids = rows(m.inputs, m.batch); Tensor targets = rows(m.targets, m.batch); Tape tape = new Tape(Hooks.NONE)) {
                Ops ops = new Ops(tape, kernels).withRecompute(recompute).withSequences(m.layout);
                loss += model.loss(ops, ids, targets, share) * share;
                tape.backward();
            }
        }
        computeSeconds = (System.nanoTime() - start) / 1e9;
        sumOverPool(model);
        try (Tensor l = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, 1)) {
            l.set(0, (float) loss);
            pool.allReduce(l.data(), DType.F32, 1, ReduceOp.SUM);
            return l.get(0);
        }
    }

    /**
     * Seconds the last {@link #run} spent on this rank's micro-batches (forward and backward,
     * ring exchanges included), before the gradient sum: the rank's load.
     */
    public double computeSeconds() {
        return computeSeconds;
    }

    private record MicroBatch(int[] inputs, int[] targets, int batch, Sequences layout, int counted) {}

    private MicroBatch microBatch(Placement p, List<TokenSequence> sequences) {
        return switch (p.layout()) {
            case PACKED -> {
                int[][] lengths = {Arrays.stream(p.sequences()).map(s -> sequences.get(s).length()).toArray()};
                int n = Arrays.stream(lengths[0]).sum(), at = 0, counted = 0;
                int[] in = new int[n], tg = new int[n];
                for (int s : p.sequences()) {
                    TokenSequence seq = sequences.get(s);
                    System.arraycopy(seq.inputs(), 0, in, at, seq.length());
                    System.arraycopy(seq.targets(), 0, tg, at, seq.length());
                    at += seq.length();
                    counted += seq.counted();
                }
                yield new MicroBatch(in, tg, 1, new PackedDocuments(lengths), counted);
            }
            case PADDED -> {
                int padTo = Arrays.stream(p.sequences()).map(s -> sequences.get(s).length()).max().orElseThrow(), rows = p.sequences().length;
                int[] in = new int[rows * padTo], tg = new int[rows * padTo];
                Arrays.fill(tg, -1);
                int counted = 0;
                for (int r = 0; r < rows; r++) {
                    TokenSequence seq = sequences.get(p.sequences()[r]);
                    System.arraycopy(seq.inputs(), 0, in, r * padTo, seq.length());
                    System.arraycopy(seq.targets(), 0, tg, r * padTo, seq.length());
                    counted += seq.counted();
                }
                yield new MicroBatch(in, tg, rows, Sequences.WHOLE, counted);
            }
            case RING -> {
                TokenSequence seq = sequences.get(p.sequences()[0]);
                RingAttention shard = new RingAttention(ring(p.ranks()), seq.length());
                int[] positions = shard.chunks().positions(StepSchedule.indexOf(p.ranks(), pool.rank()));
                int[] in = new int[positions.length], tg = new int[positions.length];
                int counted = 0;
                for (int i = 0; i < positions.length; i++) {
                    in[i] = seq.inputs()[positions[i]];
                    tg[i] = seq.targets()[positions[i]];
                    if (tg[i] >= 0) counted++;
                }
                yield new MicroBatch(in, tg, 1, shard, counted);
            }
        };
    }

    private ProcessGroup ring(int[] ranks) {
        String name = "ring" + Arrays.toString(ranks).replace(" ", "");
        return rings.computeIfAbsent(name, n -> ranks.length == pool.size() ? pool
                : pool.subgroup(n, Arrays.stream(ranks).boxed().toList()));
    }

    private static Tensor rows(int[] values, int batch) {
        Tensor t = Tensor.allocate(DType.I32, MemoryCategory.OTHER, batch, values.length / batch);
        for (int i = 0; i < values.length; i++) t.setInt(i, values[i]);
        return t;
    }

    /** Every gradient summed over the pool, in one flat buffer. */
    private void sumOverPool(GPT model) {
        List<Parameter> params = model.parameters();
        long n = params.stream().mapToLong(Parameter::numel).sum();
        try (Tensor flat = Tensor.zeros(MemoryCategory.GRADIENTS, Math.toIntExact(n))) {
            long at = 0;
            for (Parameter p : params) {
                java.lang.foreign.MemorySegment.copy(p.grad().data(), 0, flat.data(), at * 4, p.numel() * 4);
                at += p.numel();
            }
            pool.allReduce(flat.data(), DType.F32, n, ReduceOp.SUM);
            at = 0;
            for (Parameter p : params) {
                java.lang.foreign.MemorySegment.copy(flat.data(), at * 4, p.grad().data(), 0, p.numel() * 4);
                at += p.numel();
            }
        }
    }

    @Override
    public void close() {
        rings.values().forEach(g -> {
            if (g != pool) g.close();
        });
    }
}
