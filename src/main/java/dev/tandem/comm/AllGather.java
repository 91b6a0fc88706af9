package dev.tandem.comm;

import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * All-gather (equal or uneven blocks) by a ring: in step s each rank forwards the block it got in
 * step s-1 to its right neighbour, so every link carries (n-1)/n of the output, the optimum.
 * The first step sends this rank's block from the input and copies it into the output piece by
 * piece alongside, so each piece is read from memory once for both (the copy is a third of a
 * 2-rank all-gather's memory traffic).
 */
final class AllGather {
    private AllGather() {}

    static void run(Op op, MemorySegment in, MemorySegment out, DType type, long[] counts) {
        int n = op.size(), r = op.rank();
        long es = type.byteSize();
        long[] offsets = new long[n + 1];
        for (int i = 0; i < n; i++) offsets[i + 1] = offsets[i] + counts[i] * es;
        MemorySegment own = out.asSlice(offsets[r], counts[r] * es);
        boolean inPlace = own.isNative() && in.isNative() && own.address() == in.address();
        if (n == 1) {
            if (!inPlace) MemorySegment.copy(in, 0, own, 0, own.byteSize());
            return;
        }
        int right = Blocks.mod(r + 1, n), left = Blocks.mod(r - 1, n);
        for (int s = 0; s < n - 1; s++) {
            int sb = Blocks.mod(r - s, n), rb = Blocks.mod(r - s - 1, n);
            Transfer recv = op.recvInto(left, out.asSlice(offsets[rb], counts[rb] * es));
            if (s == 0 && !inPlace) op.run(op.send(right, in), recv, op.copy(in, own));
            else op.run(op.send(right, out.asSlice(offsets[sb], counts[sb] * es)), recv);
        }
    }

    /** The all-gather half of a ring all-reduce: rank b holds the final block b of {@code seg}. */
    static void ringInPlace(Op op, MemorySegment seg, DType type, long count, int n) {
        int r = op.rank();
        int right = Blocks.mod(r + 1, n), left = Blocks.mod(r - 1, n);
        for (int s = 0; s < n - 1; s++) {
            op.run(op.send(right, AllReduce.block(seg, type, count, n, Blocks.mod(r - s, n))),
                    op.recvInto(left, AllReduce.block(seg, type, count, n, Blocks.mod(r - s - 1, n))));
        }
    }
}
