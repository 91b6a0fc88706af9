package dev.tandem.comm;

import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * All-gather (equal or uneven blocks). Large outputs go by a ring: in step s each rank forwards
 * the block it got in step s-1 to its right neighbour, so every link carries (n-1)/n of the
 * output, the optimum. The first step sends this rank's block from the input and copies it into
 * the output piece by piece alongside, so each piece is read from memory once for both (the copy
 * is a third of a 2-rank all-gather's memory traffic). Small outputs on four or more ranks take
 * Bruck's algorithm: ceil(log2 n) rounds instead of n-1, which is what matters when each round
 * costs a message latency (or, on an oversubscribed host, a trip through the scheduler). Groups
 * of three or more ranks on one host gather large outputs through a shared {@link Board}
 * instead: each block is copied into it once and out once per peer.
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
        if (n >= 4 && out.byteSize() <= op.options().treeThresholdBytes()) {
            bruck(op, in, out, es, counts, offsets);
            return;
        }
        Board board = op.board(out.byteSize());
        if (board != null) {
            MemorySegment[] into = new MemorySegment[n];
            for (int p = 0; p < n; p++) into[p] = out.asSlice(offsets[p], counts[p] * es);
            Transfer gather = new BoardGather(op, board, in, into);
            if (inPlace) op.run(gather);
            else op.run(gather, op.copy(in, own));
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

    /**
     * Bruck's all-gather. Rank r keeps the blocks it has so far at the front of a scratch buffer in
     * the order r, r+1, r+2, ... (mod n). After the round with distance d it holds 2d of them: it
     * sends its first min(d, n-d) blocks to rank r-d and appends the same number that rank r+d
     * sends (that rank's first blocks are r+d, r+d+1, ...). A last pass puts every block in place.
     * Uneven blocks work the same way: every rank knows every block's size.
     */
    private static void bruck(Op op, MemorySegment in, MemorySegment out, long es, long[] counts, long[] offsets) {
        int n = op.size(), r = op.rank();
        long[] at = new long[n + 1]; // at[j]: where block (r + j) mod n sits in the scratch buffer
        for (int j = 0; j < n; j++) at[j + 1] = at[j] + counts[(r + j) % n] * es;
        MemorySegment held = op.scratch(0, at[n]);
        MemorySegment.copy(in, 0, held, 0, at[1]);
        for (int d = 1; d < n; d *= 2) {
            int blocks = Math.min(d, n - d);
            op.run(op.send(Blocks.mod(r - d, n), held.asSlice(0, at[blocks])),
                    op.recvInto((r + d) % n, held.asSlice(at[d], at[d + blocks] - at[d])));
        }
        for (int j = 0; j < n; j++) {
            int b = (r + j) % n;
            MemorySegment.copy(held, at[j], out, offsets[b], counts[b] * es);
        }
    }

    /**
     * The all-gather half of a ring all-reduce: rank b holds the final block b of {@code seg}.
     * Through the board where the group has one for this size (each block copied n times instead
     * of 2(n−1)), else by the ring.
     */
    static void inPlace(Op op, MemorySegment seg, DType type, long count, int n) {
        int r = op.rank();
        Board board = op.board(seg.byteSize());
        if (board != null) {
            MemorySegment[] blocks = new MemorySegment[n];
            for (int b = 0; b < n; b++) blocks[b] = AllReduce.block(seg, type, count, n, b);
            op.run(new BoardGather(op, board, blocks[r], blocks));
            return;
        }
        int right = Blocks.mod(r + 1, n), left = Blocks.mod(r - 1, n);
        for (int s = 0; s < n - 1; s++) {
            op.run(op.send(right, AllReduce.block(seg, type, count, n, Blocks.mod(r - s, n))),
                    op.recvInto(left, AllReduce.block(seg, type, count, n, Blocks.mod(r - s - 1, n))));
        }
    }
}
