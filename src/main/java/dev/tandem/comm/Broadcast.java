package dev.tandem.comm;

import java.lang.foreign.MemorySegment;

/**
 * Broadcast. Small messages: binomial tree (log2 n rounds). Large messages: a pipelined chain
 * root → root+1 → … in chunks, so every rank forwards chunk k while receiving chunk k+1 and the
 * time approaches one message transfer regardless of n.
 */
final class Broadcast {
    private Broadcast() {}

    static void run(Op op, MemorySegment buf, int root) {
        int n = op.size();
        if (n == 1) return;
        if (buf.byteSize() <= op.options().treeThresholdBytes()) binomial(op, buf, root);
        else chain(op, buf, root);
    }

    private static void binomial(Op op, MemorySegment buf, int root) {
        int n = op.size();
        int vr = Blocks.mod(op.rank() - root, n);
        int mask = 1;
        while (mask < n) {
            if ((vr & mask) != 0) {
                op.run(op.recvInto(Blocks.mod(vr - mask + root, n), buf));
                break;
            }
            mask <<= 1;
        }
        mask >>= 1;
        java.util.List<Transfer> sends = new java.util.ArrayList<>();
        for (; mask > 0; mask >>= 1) {
            if (vr + mask < n) sends.add(op.send(Blocks.mod(vr + mask + root, n), buf));
        }
        op.run(sends.toArray(Transfer[]::new));
    }

    private static void chain(Op op, MemorySegment buf, int root) {
        int n = op.size();
        int vr = Blocks.mod(op.rank() - root, n);
        int prev = Blocks.mod(op.rank() - 1, n), next = Blocks.mod(op.rank() + 1, n);
        long chunk = Math.max(4096, op.options().chunkBytes() / 8) & ~7L;
        long total = buf.byteSize();
        int k = (int) ((total + chunk - 1) / chunk);
        if (vr == 0) {
            for (int i = 0; i < k; i++) op.run(op.send(next, piece(buf, i, chunk)));
            return;
        }
        boolean last = vr == n - 1;
        for (int i = 0; i <= k; i++) {
            Transfer recv = i < k ? op.recvInto(prev, piece(buf, i, chunk)) : null;
            Transfer fwd = !last && i > 0 ? op.send(next, piece(buf, i - 1, chunk)) : null;
            if (recv != null && fwd != null) op.run(recv, fwd);
            else if (recv != null) op.run(recv);
            else if (fwd != null) op.run(fwd);
        }
    }

    private static MemorySegment piece(MemorySegment buf, int i, long chunk) {
        long off = i * chunk;
        return buf.asSlice(off, Math.min(chunk, buf.byteSize() - off));
    }
}
