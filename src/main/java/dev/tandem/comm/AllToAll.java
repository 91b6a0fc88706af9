package dev.tandem.comm;

import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * All-to-all(v) by pairwise exchange: in step s rank r sends to r+s and receives from r-s, so
 * every rank talks to exactly one peer in each direction per step and no link is shared.
 */
final class AllToAll {
    private AllToAll() {}

    static void run(Op op, MemorySegment in, long[] sendCounts, MemorySegment out, long[] recvCounts, DType type) {
        int n = op.size(), r = op.rank();
        long es = type.byteSize();
        long[] sOff = offsets(sendCounts, es), rOff = offsets(recvCounts, es);
        MemorySegment.copy(in, sOff[r], out, rOff[r], sendCounts[r] * es);
        for (int s = 1; s < n; s++) {
            int to = Blocks.mod(r + s, n), from = Blocks.mod(r - s, n);
            op.run(op.send(to, in.asSlice(sOff[to], sendCounts[to] * es)),
                    op.recvInto(from, out.asSlice(rOff[from], recvCounts[from] * es)));
        }
    }

    private static long[] offsets(long[] counts, long es) {
        long[] o = new long[counts.length];
        for (int i = 1; i < counts.length; i++) o[i] = o[i - 1] + counts[i - 1] * es;
        return o;
    }
}
