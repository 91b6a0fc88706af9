package dev.tandem.parallel;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.parallel.context.RingAttention;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.function.Function;

/**
 * Context parallelism for the trainer: every rank of a cp group reads the same rows (as the ranks
 * of a tensor-parallel group do) and runs each row as its shard of a ring ({@link RingAttention}:
 * two mirrored chunks, keys and values passed around the group). A row is one forward and
 * backward on this rank's L/cp tokens, so a rank never holds a whole row's activations.
 *
 * <p>Gradients: data parallelism runs over the dp·cp ranks and averages over all of them, so each
 * shard's loss is weighted by cp × (its counted targets) / (the micro-batch's counted targets):
 * the cp shards of a micro-batch then sum to cp times its mean loss, and the average over dp·cp
 * ranks is the mean over the dp replicas, as without cp.
 */
final class ContextParallel {
    private final ProcessGroup ring;

    /** @param ring this rank's context-parallel group, in ring order */
    ContextParallel(ProcessGroup ring) {
        this.ring = ring;
    }

    int size() {
        return ring.size();
    }

    /**
     * Forward and backward of micro-batch {@code micro} of {@code microBatches} ({@code ids} and
     * {@code targets} [rows, T], the same on every rank of the ring), one row at a time. Returns
     * this rank's share of the micro-batch's loss (its weighted shard losses, before the average
     * over the dp·cp ranks).
     */
    double forwardBackward(GPT model, DataParallel dp, Function<Tape, Ops> ops, Tensor ids, Tensor targets, int micro, int microBatches) {
        int rows = ids.dim(0), time = ids.dim(1);
        long counted = counted(targets, 0, rows * time);
        double loss = 0;
        for (int r = 0; r < rows; r++) {
            RingAttention shard = new RingAttention(ring, time);
            int[] positions = shard.chunks().positions(ring.rank());
            try (Tensor shardIds = gather(ids, r * time, positions); Tensor shardTargets = gather(targets, r * time, positions)) {
                long mine = counted(shardTargets, 0, positions.length);
                float weight = counted == 0 ? 0f : (float) ((double) ring.size() * mine / counted);
                dp.beginMicroBatch(micro * rows + r, microBatches * rows);
                try (Tape tape = new Tape(dp)) {
                    loss += model.loss(ops.apply(tape).withSequences(shard), shardIds, shardTargets, weight / microBatches) * weight;
                    tape.backward();
                }
            }
        }
        return loss / microBatches;
    }

    /**
     * Mean loss of {@code ids}/{@code targets} over the ring without a backward pass: each rank
     * evaluates its shards and the summed losses are added over the ring (the same on every rank).
     */
    double evaluate(GPT model, DataParallel dp, Function<Tape, Ops> ops, Tensor ids, Tensor targets) {
        int rows = ids.dim(0), time = ids.dim(1);
        double sum = 0;
        dp.beginInference();
        for (int r = 0; r < rows; r++) {
            RingAttention shard = new RingAttention(ring, time);
            int[] positions = shard.chunks().positions(ring.rank());
            try (Tensor shardIds = gather(ids, r * time, positions); Tensor shardTargets = gather(targets, r * time, positions);
                 Tape tape = Tape.inference(dp)) {
                sum += model.loss(ops.apply(tape).withSequences(shard), shardIds, shardTargets, 1f) * counted(shardTargets, 0, positions.length);
            }
        }
        try (Tensor t = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, 1)) {
            t.set(0, (float) sum);
            ring.allReduce(t.data(), DType.F32, 1, ReduceOp.SUM);
            long all = counted(targets, 0, rows * time);
            return all == 0 ? 0 : t.get(0) / all;
        }
    }

    /** A [1, positions] I32 tensor of {@code src}'s elements at {@code offset + positions[i]}. */
    private static Tensor gather(Tensor src, int offset, int[] positions) {
        Tensor t = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, 1, positions.length);
        for (int i = 0; i < positions.length; i++) t.setInt(i, src.getInt(offset + positions[i]));
        return t;
    }

    /** Targets that count (not negative) among elements [from, to) of {@code targets}. */
    private static long counted(Tensor targets, int from, int to) {
        long n = 0;
        for (int i = from; i < to; i++) if (targets.getInt(i) >= 0) n++;
        return n;
    }
}
