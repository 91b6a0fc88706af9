package dev.tandem.comm;

import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * Reduce-scatter, leaving the input untouched. Large inputs go by a ring: in step s a rank
 * receives a partial sum of block (r-s-2), adds its own input block into it straight from the
 * transport buffer and forwards it in step s+1; the last step lands block r in the output. Only
 * two blocks of scratch are needed, alternating between steps. Processed in chunks (the same
 * element range of every block) so the working set stays in cache. Small inputs on a power-of-two
 * group of four or more ranks take recursive halving: log2 n rounds instead of n-1, each moving
 * half the data of the one before, so it sends as little as the ring does.
 */
final class ReduceScatter {
    private ReduceScatter() {}

    static void run(Op op, MemorySegment in, MemorySegment out, DType type, long count, ReduceOp rop) {
        int n = op.size(), r = op.rank();
        long es = type.byteSize();
        if (n == 1) {
            MemorySegment.copy(in, 0, out, 0, out.byteSize());
            return;
        }
        if (n >= 4 && Integer.bitCount(n) == 1 && in.byteSize() <= op.options().treeThresholdBytes()) {
            recursiveHalving(op, in, out, type, count, rop);
            if (rop == ReduceOp.AVG) op.reductions().divide(type, out, n);
            return;
        }
        long chunk = count == 0 ? 1 : Math.min(count, Math.max(1, op.options().chunkBytes() / es / n));
        int right = Blocks.mod(r + 1, n), left = Blocks.mod(r - 1, n);
        for (long start = 0; start < Math.max(count, 1); start += chunk) {
            long len = Math.min(chunk, count - start);
            long bytes = len * es;
            MemorySegment[] acc = {op.scratch(0, bytes), op.scratch(1, bytes)};
            for (int s = 0; s < n - 1; s++) {
                int sb = Blocks.mod(r - s - 1, n), rb = Blocks.mod(r - s - 2, n);
                MemorySegment src = s == 0 ? slice(in, sb, count, start, len, es) : acc[(s - 1) % 2];
                MemorySegment dst = s == n - 2 ? out.asSlice(start * es, bytes) : acc[s % 2];
                op.run(op.sendToReduce(right, src), op.recvReduce(left, dst, slice(in, rb, count, start, len, es), type, rop));
            }
        }
        if (rop == ReduceOp.AVG) op.reductions().divide(type, out, n);
    }

    /**
     * Rank r and its partner r^m (m = n/2, n/4, ..., 1) share the same range of blocks; the one
     * whose bit m is clear keeps the lower half of it, the other the upper half, and each sends the
     * half it gives up for the other to add into its own. The range that is left is block r.
     */
    private static void recursiveHalving(Op op, MemorySegment in, MemorySegment out, DType type, long count, ReduceOp rop) {
        int n = op.size(), r = op.rank();
        long blockBytes = count * type.byteSize();
        MemorySegment acc = op.scratch(0, in.byteSize());
        MemorySegment.copy(in, 0, acc, 0, in.byteSize());
        int lo = 0;
        for (int m = n / 2; m >= 1; m /= 2) {
            boolean upper = (r & m) != 0;
            int keep = upper ? lo + m : lo, give = upper ? lo : lo + m;
            MemorySegment kept = acc.asSlice(keep * blockBytes, m * blockBytes);
            op.run(op.sendToReduce(r ^ m, acc.asSlice(give * blockBytes, m * blockBytes)),
                    op.recvReduce(r ^ m, kept, kept, type, rop));
            lo = keep;
        }
        MemorySegment.copy(acc, r * blockBytes, out, 0, blockBytes);
    }

    private static MemorySegment slice(MemorySegment in, int block, long count, long start, long len, long es) {
        return in.asSlice((block * count + start) * es, len * es);
    }
}
