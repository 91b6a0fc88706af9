package dev.tandem.comm;

import java.lang.foreign.MemorySegment;

/** Dissemination barrier: in round k each rank signals rank+2^k and waits for rank-2^k; ceil(log2 n) rounds. */
final class Barrier {
    private Barrier() {}

    static void run(Op op) {
        int n = op.size(), r = op.rank();
        for (int k = 1; k < n; k <<= 1) {
            op.run(op.send(Blocks.mod(r + k, n), MemorySegment.NULL),
                    op.recvInto(Blocks.mod(r - k, n), MemorySegment.NULL));
        }
    }
}
