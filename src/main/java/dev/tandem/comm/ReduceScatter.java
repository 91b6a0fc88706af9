package dev.tandem.comm;

import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * Reduce-scatter by a ring, leaving the input untouched. In step s a rank receives a partial
 * sum of block (r-s-2), adds its own input block into it straight from the transport buffer and
 * forwards it in step s+1; the last step lands block r in the output. Only two blocks of scratch
 * are needed, alternating between steps. Processed in chunks (the same element range of every
 * block) so the working set stays in cache.
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
        if (rop == ReduceOp.AVG) Reductions.divide(out, type, n);
    }

    private static MemorySegment slice(MemorySegment in, int block, long count, long start, long len, long es) {
        return in.asSlice((block * count + start) * es, len * es);
    }
}
