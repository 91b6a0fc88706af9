package dev.tandem.nn;

import dev.tandem.TandemException;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.VectorMath;
import java.lang.foreign.MemorySegment;

/**
 * The tensor-parallel (Megatron) forms of the ops whose parameters a strategy splits: column- and
 * row-parallel linear, vocabulary-parallel embedding and tied cross-entropy. {@link Ops}
 * dispatches here on a parameter's {@link Sharding}.
 *
 * <p>Each op communicates only on its unsplit side, through the conjugate pair "f/g" of
 * Megatron-LM: where activations are replicated, the column-parallel side is free in forward
 * and all-reduces the input gradient in backward, and the row-parallel side all-reduces its
 * partial output in forward and is free in backward. Under sequence parallelism those
 * activations are split by rows instead, and the pair becomes all-gather/reduce-scatter.
 * Temporary whole-row buffers count as communication memory.
 */
final class TensorParallelOps {
    private TensorParallelOps() {}

    private static MemorySegment d(Var v) {
        return v.value().data();
    }

    private static MemorySegment g(Var v) {
        return v.grad().data();
    }

    static Var linear(Ops ops, Var x, Parameter w, Parameter b) {
        Sharding s = w.sharding();
        if (w.value().rank() != 2 || s.split().dim() > 1) throw new IllegalArgumentException(w + ": only [in, out] weights split by rows or columns");
        return s.split().dim() == 1 ? columnParallel(ops, x, w, b, s) : rowParallel(ops, x, w, b, s);
    }

    /**
     * {@code y = x·W_r + b_r}: this rank's output columns from the whole input. Backward: the input
     * gradient is this rank's partial sum, reduced across the group.
     */
    private static Var columnParallel(Ops ops, Var x, Parameter w, Parameter b, Sharding s) {
        Tape tape = ops.tape();
        Kernels k = ops.kernels();
        int in = w.value().dim(0), out = w.value().dim(1);
        if (b.sharding() == null || !b.split().equals(new Split(b.split().fullShape(), 0, s.split().blocks(), s.group().rank(), s.group().size()))) {
            throw new IllegalArgumentException(b + ": the bias of column-parallel " + w + " must be split like its columns");
        }
        requireCols(x, in, w);
        // Sequence parallelism: the input arrives as this rank's rows and is kept gathered for the backward pass.
        Tensor xin = s.sequenceParallel() ? gatherRows(tape, x.value(), s.group()) : x.value();
        int n = xin.dim(0);
        Var y = tape.activation(n, out);
        k.gemm(false, false, n, out, in, 1f, xin.data(), 0, in, d(w), 0, out, 0f, d(y), 0, out);
        k.addRowVector(d(y), d(b), n, out);
        tape.onBackward(y, () -> {
            k.gemm(true, false, in, out, n, 1f, xin.data(), 0, in, g(y), 0, out, 1f, g(w), 0, out);
            k.sumRows(g(y), g(b), n, out);
            try (Tensor dx = Tensor.zeros(MemoryCategory.COMMUNICATION, n, in)) {
                k.gemm(false, true, n, in, out, 1f, g(y), 0, out, d(w), 0, out, 0f, dx.data(), 0, in);
                reduceInto(k, dx, x, s);
            }
        }, w, b);
        return y;
    }

    /**
     * {@code y = Σ_r x_r·W_r + b}: each rank multiplies its input columns by its rows of W, the
     * partial products are summed across the group (reduce-scattered to row parts under sequence
     * parallelism), and the bias is added once, after the sum. Backward needs the whole output
     * gradient (gathered from row parts under sequence parallelism) and no reduction.
     */
    private static Var rowParallel(Ops ops, Var x, Parameter w, Parameter b, Sharding s) {
        Tape tape = ops.tape();
        Kernels k = ops.kernels();
        int n = x.value().dim(0), in = w.value().dim(0), out = w.value().dim(1);
        if (b.sharding() != null) throw new IllegalArgumentException(b + ": the bias of row-parallel " + w + " must be whole");
        requireCols(x, in, w);
        boolean sp = s.sequenceParallel();
        int rows = sp ? rowsPerRank(n, s.group()) : n;
        Var y = tape.activation(rows, out);
        if (sp) {
            try (Tensor partial = Tensor.zeros(MemoryCategory.COMMUNICATION, n, out)) {
                k.gemm(false, false, n, out, in, 1f, d(x), 0, in, d(w), 0, out, 0f, partial.data(), 0, out);
                s.group().reduceScatterSum(partial.data(), d(y), (long) rows * out);
            }
        } else {
            k.gemm(false, false, n, out, in, 1f, d(x), 0, in, d(w), 0, out, 0f, d(y), 0, out);
            s.group().allReduceSum(d(y), (long) n * out);
        }
        k.addRowVector(d(y), d(b), rows, out);
        tape.onBackward(y, () -> {
            k.sumRows(g(y), g(b), rows, out); // under sequence parallelism a partial sum over this rank's rows
            try (Tensor gathered = sp ? gatherRows(null, y.grad(), s.group()) : null) {
                MemorySegment dy = sp ? gathered.data() : g(y);
                k.gemm(false, true, n, in, out, 1f, dy, 0, out, d(w), 0, out, 1f, g(x), 0, in);
                k.gemm(true, false, in, out, n, 1f, d(x), 0, in, dy, 0, out, 1f, g(w), 0, out);
            }
        }, w, b);
        return y;
    }

    /**
     * Vocabulary-parallel token embedding plus positions: each rank looks up the ids in its rows
     * of wte (zeros for the others), the lookups are summed across the group (reduce-scattered to
     * row parts under sequence parallelism), then positions are added to the rows this rank holds.
     */
    static Var embed(Ops ops, Tensor ids, Parameter wte, Parameter wpe, int positionOffset) {
        Tape tape = ops.tape();
        Kernels k = ops.kernels();
        Sharding s = wte.sharding();
        int time = ids.dim(1), n = ids.dim(0) * time, c = wte.value().dim(1), part = wte.value().dim(0);
        int lo = part * s.group().rank();
        boolean sp = s.sequenceParallel();
        int rows = sp ? rowsPerRank(n, s.group()) : n, first = sp ? rows * s.group().rank() : 0;
        Var x = tape.activation(rows, c);
        try (Tensor own = sp ? Tensor.zeros(MemoryCategory.COMMUNICATION, n, c) : null) {
            MemorySegment lookup = sp ? own.data() : d(x);
            for (int r = 0; r < n; r++) {
                int id = ids.getInt(r) - lo;
                if (id >= 0 && id < part) MemorySegment.copy(d(wte), (long) id * c * 4, lookup, (long) r * c * 4, (long) c * 4);
            }
            if (sp) s.group().reduceScatterSum(lookup, d(x), (long) rows * c);
            else s.group().allReduceSum(lookup, (long) n * c);
        }
        for (int i = 0; i < rows; i++) {
            MemorySegment row = row(d(x), i, c);
            k.add(row, row(d(wpe), positionOffset + (first + i) % time, c), row, c);
        }
        tape.onBackward(x, () -> {
            for (int i = 0; i < rows; i++) k.axpy(1f, row(g(x), i, c), row(g(wpe), positionOffset + (first + i) % time, c), c);
            try (Tensor gathered = sp ? gatherRows(null, x.grad(), s.group()) : null) {
                MemorySegment dx = sp ? gathered.data() : g(x);
                for (int r = 0; r < n; r++) {
                    int id = ids.getInt(r) - lo;
                    if (id >= 0 && id < part) k.axpy(1f, row(dx, r, c), row(g(wte), id, c), c);
                }
            }
        }, wte, wpe);
        return x;
    }

    /**
     * Vocabulary-parallel output head and cross-entropy: each rank computes the logits of its
     * vocabulary rows only; per row it reduces them to a log-sum-exp and the target's logit (zero
     * when the target is another rank's), and one all-gather of those two numbers per row gives
     * every rank the whole row's log-sum-exp and target logit. The full logits never exist on
     * one rank.
     */
    static double tiedCrossEntropy(Ops ops, Var x, Parameter wte, Tensor targets, float lossScale) {
        Tape tape = ops.tape();
        Kernels k = ops.kernels();
        Sharding s = wte.sharding();
        ShardGroup group = s.group();
        int c = wte.value().dim(1), part = wte.value().dim(0), lo = part * group.rank(), size = group.size();
        requireCols(x, c, wte);
        Tensor xin = s.sequenceParallel() ? gatherRows(tape, x.value(), group) : x.value();
        int n = xin.dim(0);
        if (targets.numel() != n) throw new IllegalArgumentException(targets.numel() + " targets for " + n + " rows");
        Tensor logits = tape.scratch(DType.F32, n, part);
        k.gemm(false, true, n, part, c, 1f, xin.data(), 0, c, d(wte), 0, c, 0f, logits.data(), 0, part);
        Tensor lse = tape.scratch(DType.F32, n);
        Tensor losses = tape.scratch(DType.F32, n);
        int counted = 0;
        try (Tensor stats = Tensor.zeros(MemoryCategory.COMMUNICATION, 2, n);
             Tensor all = Tensor.zeros(MemoryCategory.COMMUNICATION, size, 2, n);
             Tensor noTargets = Tensor.allocate(DType.I32, MemoryCategory.COMMUNICATION, n)) {
            // The kernel's per-row log-sum-exp over this rank's vocabulary; no target is passed, so it computes no loss.
            for (int r = 0; r < n; r++) noTargets.setInt(r, -1);
            k.crossEntropyForward(logits.data(), noTargets.data(), losses.data(), stats.data(), n, part);
            for (int r = 0; r < n; r++) {
                int t = targets.getInt(r) - lo;
                if (t >= 0 && t < part) stats.set(n + r, logits.get((long) r * part + t));
            }
            group.allGather(stats.data(), all.data(), 2L * n);
            for (int r = 0; r < n; r++) {
                float max = Float.NEGATIVE_INFINITY, targetLogit = 0;
                for (int i = 0; i < size; i++) {
                    max = Math.max(max, all.get((long) i * 2 * n + r));
                    targetLogit += all.get((long) i * 2 * n + n + r); // one rank's logit, zeros from the others
                }
                float sum = 0;
                for (int i = 0; i < size; i++) sum += VectorMath.exp(all.get((long) i * 2 * n + r) - max);
                float l = max + (float) StrictMath.log(sum);
                lse.set(r, l);
                boolean counts = targets.getInt(r) >= 0;
                losses.set(r, counts ? l - targetLogit : 0f);
                if (counts) counted++;
            }
        }
        double loss = counted == 0 ? 0 : k.sum(losses.data(), n) / counted;
        float scale = counted == 0 ? 0f : lossScale / counted;
        tape.onBackward(null, () -> {
            // In place: scale·(softmax − onehot) of this rank's vocabulary entries lo, lo + 1, ... from the whole row's lse.
            k.crossEntropyBackward(logits.data(), targets.data(), lse.data(), lo, scale, logits.data(), n, part);
            k.gemm(true, false, part, c, n, 1f, logits.data(), 0, part, xin.data(), 0, c, 1f, g(wte), 0, c);
            try (Tensor dx = Tensor.zeros(MemoryCategory.COMMUNICATION, n, c)) {
                k.gemm(false, false, n, c, part, 1f, logits.data(), 0, part, d(wte), 0, c, 0f, dx.data(), 0, c);
                reduceInto(k, dx, x, s);
            }
        }, wte);
        return loss;
    }

    /**
     * Adds a gradient that is this rank's partial sum over the group into x's gradient: summed
     * across the group, or under sequence parallelism reduce-scattered to the rows x holds.
     */
    private static void reduceInto(Kernels k, Tensor partial, Var x, Sharding s) {
        int n = partial.dim(0), cols = partial.dim(1);
        if (!s.sequenceParallel()) {
            s.group().allReduceSum(partial.data(), (long) n * cols);
            k.axpy(1f, partial.data(), g(x), (long) n * cols);
            return;
        }
        int rows = rowsPerRank(n, s.group());
        try (Tensor mine = Tensor.zeros(MemoryCategory.COMMUNICATION, rows, cols)) {
            s.group().reduceScatterSum(partial.data(), mine.data(), (long) rows * cols);
            k.axpy(1f, mine.data(), g(x), (long) rows * cols);
        }
    }

    /**
     * The whole rows of a tensor whose rows are split across the group: owned by {@code tape}
     * when given (kept for the backward pass), else by the caller (communication memory).
     */
    private static Tensor gatherRows(Tape tape, Tensor part, ShardGroup group) {
        int rows = part.dim(0), cols = part.dim(1);
        Tensor whole = tape != null ? tape.scratch(DType.F32, rows * group.size(), cols)
                : Tensor.zeros(MemoryCategory.COMMUNICATION, rows * group.size(), cols);
        group.allGather(part.data(), whole.data(), (long) rows * cols);
        return whole;
    }

    private static int rowsPerRank(int rows, ShardGroup group) {
        if (rows % group.size() != 0) {
            throw new TandemException("sequence parallelism splits the " + rows + " rows (batch·time) of a micro-batch across "
                    + group.size() + " tensor-parallel ranks: choose a micro-batch whose batch·time divides by " + group.size());
        }
        return rows / group.size();
    }

    private static MemorySegment row(MemorySegment m, long r, int cols) {
        return m.asSlice(r * cols * 4, (long) cols * 4);
    }

    private static void requireCols(Var x, int cols, Parameter p) {
        if (x.value().rank() != 2 || x.value().dim(1) != cols) {
            throw new IllegalArgumentException("input " + x.value() + " does not match this rank's part of " + p.name() + " (expects "
                    + cols + " columns)");
        }
    }
}
