package dev.tandem.comm;

import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * Reduce to a root by a binomial tree (log2 n rounds). Non-root ranks accumulate in scratch so
 * their buffers are left as they were. Used for all sizes: reduce is not on a hot path in
 * training (all-reduce and reduce-scatter are).
 */
final class Reduce {
    private Reduce() {}

    static void run(Op op, MemorySegment buf, DType type, ReduceOp rop, int root) {
        int n = op.size();
        if (n == 1) return;
        int vr = Blocks.mod(op.rank() - root, n);
        MemorySegment acc = buf;
        if (vr != 0) {
            acc = op.scratch(0, buf.byteSize());
            MemorySegment.copy(buf, 0, acc, 0, buf.byteSize());
        }
        for (int mask = 1; mask < n; mask <<= 1) {
            if ((vr & mask) != 0) {
                op.run(op.sendToReduce(Blocks.mod(vr - mask + root, n), acc));
                return;
            }
            if (vr + mask < n) op.run(op.recvReduce(Blocks.mod(vr + mask + root, n), acc, acc, type, rop));
        }
        if (rop == ReduceOp.AVG) op.reductions().divide(type, buf, n);
    }
}
