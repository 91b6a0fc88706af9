package dev.tandem.comm;

import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * All-reduce in place. Small messages: recursive doubling (log2 n rounds, full message each
 * round: latency-optimal). Large messages: ring reduce-scatter then ring all-gather (each rank
 * sends 2(n-1)/n of the buffer: bandwidth-optimal), in chunks so each round's data stays in cache;
 * on one host, the all-gather half may go through the group's shared board instead.
 * Both give bitwise identical results on every rank: recursive doubling combines the same two
 * values on both sides of each exchange (addition is commutative), and the ring distributes the
 * one reduced copy of each block.
 */
final class AllReduce {
    private AllReduce() {}

    static void run(Op op, MemorySegment buf, DType type, long count, ReduceOp rop) {
        int n = op.size();
        if (n == 1) return;
        if (buf.byteSize() <= op.options().treeThresholdBytes() || count < n) {
            recursiveDoubling(op, buf, type, rop);
            if (rop == ReduceOp.AVG) op.reductions().divide(type, buf, n);
        } else {
            long es = type.byteSize();
            long chunk = Math.max(n, op.options().chunkBytes() / es);
            for (long start = 0; start < count; start += chunk) {
                long len = Math.min(chunk, count - start);
                ring(op, buf.asSlice(start * es, len * es), type, len, rop);
            }
        }
    }

    /**
     * Non-power-of-two sizes fold first: of the first 2·rem ranks, each even one hands its data to
     * its odd neighbour and sits out, then gets the result back at the end.
     */
    static void recursiveDoubling(Op op, MemorySegment buf, DType type, ReduceOp rop) {
        int n = op.size(), r = op.rank();
        int pof2 = Integer.highestOneBit(n);
        int rem = n - pof2;
        int vr;
        if (r < 2 * rem) {
            if (r % 2 == 0) {
                op.run(op.sendToReduce(r + 1, buf));
                op.run(op.recvInto(r + 1, buf));
                return;
            }
            op.run(op.recvReduce(r - 1, buf, buf, type, rop));
            vr = r / 2;
        } else {
            vr = r - rem;
        }
        MemorySegment mine = op.scratch(0, buf.byteSize());
        for (int mask = 1; mask < pof2; mask <<= 1) {
            int vp = vr ^ mask;
            int partner = vp < rem ? vp * 2 + 1 : vp + rem;
            MemorySegment.copy(buf, 0, mine, 0, buf.byteSize()); // send a snapshot: buf changes as we receive
            op.run(op.sendToReduce(partner, mine), op.recvReduce(partner, buf, buf, type, rop));
        }
        if (r < 2 * rem) op.run(op.send(r - 1, buf));
    }

    /** Ring over n blocks of one chunk: reduce-scatter, then all-gather of the reduced blocks. */
    private static void ring(Op op, MemorySegment seg, DType type, long count, ReduceOp rop) {
        int n = op.size(), r = op.rank();
        int right = Blocks.mod(r + 1, n), left = Blocks.mod(r - 1, n);
        for (int s = 0; s < n - 1; s++) {
            MemorySegment out = block(seg, type, count, n, Blocks.mod(r - s - 1, n));
            MemorySegment in = block(seg, type, count, n, Blocks.mod(r - s - 2, n));
            op.run(op.sendToReduce(right, out), op.recvReduce(left, in, in, type, rop));
        }
        if (rop == ReduceOp.AVG) op.reductions().divide(type, block(seg, type, count, n, r), n);
        AllGather.inPlace(op, seg, type, count, n);
    }

    static MemorySegment block(MemorySegment seg, DType type, long count, int n, int i) {
        long es = type.byteSize();
        return seg.asSlice(Blocks.offset(count, n, i) * es, Blocks.length(count, n, i) * es);
    }
}
