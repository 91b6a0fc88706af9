package dev.tandem.parallel.context;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.Work;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Sequences;
import dev.tandem.nn.Tape;
import dev.tandem.nn.Var;
import dev.tandem.tensor.AttentionKernels;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One rank's shard of a sequence spread over a context-parallel group (the ranks of
 * {@code ring}, in ring order): its rows are its two {@link Chunks}, and attention is ring
 * attention. Forward: each rank's keys and values travel once around the ring; at every step a
 * rank merges the blocks its queries can see into its running output by online softmax (the
 * provider's {@link AttentionKernels#blockForward}) while the next block is already in flight.
 * Backward: the keys and values travel around again with their gradients, each rank adding its
 * queries' share, until they are back with their owner after cp hops. Only K and V move (never the
 * L×L scores), and each rank holds L/cp tokens' activations.
 *
 * <p>Handed to the model's ops from outside ({@link Ops#withSequences}); the model's code is the
 * same as on one rank. The loss over the shard's tokens must be weighted by the shard's share of
 * the sequence and the gradients summed over the ring (see {@link HybridStep}).
 */
public final class RingAttention implements Sequences {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final ProcessGroup ring;
    private final Chunks chunks;

    /** The shard of a sequence of {@code length} tokens held by this rank of {@code ring}. */
    public RingAttention(ProcessGroup ring, int length) {
        this.ring = ring;
        this.chunks = new Chunks(length, ring.size());
    }

    public Chunks chunks() {
        return chunks;
    }

    /** Tokens this rank holds. */
    public int rows() {
        return chunks.rows(ring.rank());
    }

    private void check(int batch, int time) {
        if (batch != 1 || time != rows()) {
            throw new IllegalArgumentException("ring attention shard: expected one row of " + rows() + " tokens, got " + batch + " × " + time);
        }
    }

    @Override
    public Tensor positions(Tape tape, int batch, int time) {
        check(batch, time);
        Tensor pos = tape.scratch(DType.I32, time);
        int[] p = chunks.positions(ring.rank());
        for (int i = 0; i < p.length; i++) pos.setInt(i, p[i]);
        return pos;
    }

    @Override
    public Var attention(Ops ops, Var qkv, int batch, int time, int heads) {
        check(batch, time);
        Tape tape = ops.tape();
        AttentionKernels k = ops.kernels().attention();
        int c = qkv.value().dim(1) / 3, cp = ring.size(), me = ring.rank();
        int most = 0;
        for (int r = 0; r < cp; r++) most = Math.max(most, chunks.rows(r));
        Var y = tape.activation(time, c);
        Tensor lse = tape.scratch(DType.F32, heads * time);
        lse.fill(Float.NEGATIVE_INFINITY);
        // Two key/value buffers [rows, 2C] (k | v): the one computed on and the one arriving.
        Tensor[] kv = {tape.scratch(DType.F32, most, 2 * c), tape.scratch(DType.F32, most, 2 * c)};
        copyColumns(qkv.value().data(), 3 * c, c, kv[0].data(), 2 * c, 0, time, 2 * c);
        for (int step = 0; step < cp; step++) {
            int src = Math.floorMod(me - step, cp);
            Work sent = null, received = null;
            if (step < cp - 1) {
                Work[] w = pass(kv[0].data(), (long) chunks.rows(src) * 2 * c, kv[1].data(), (long) chunks.rows(Math.floorMod(src - 1, cp)) * 2 * c);
                sent = w[0];
                received = w[1];
            }
            MemorySegment keys = kv[0].data();
            forEachBlock(src, heads, c, (block, qRow, kRow) -> k.blockForward(block,
                    rows(qkv.value().data(), qRow, 3 * c, 0), 3 * c, rows(keys, kRow, 2 * c, 0), rows(keys, kRow, 2 * c, c), 2 * c,
                    rows(y.value().data(), qRow, c, 0), lseOf(lse, heads, qRow, block.queries())));
            if (sent != null) {
                sent.await();
                received.await();
                Tensor t = kv[0];
                kv[0] = kv[1];
                kv[1] = t;
            }
        }
        // The log-sum-exps were kept per chunk as [heads, chunk rows]; backward reads them the same way.
        int buffers = most;
        tape.onBackward(y, () -> backward(k, qkv, y, lse, heads, c, buffers));
        return y;
    }

    private void backward(AttentionKernels k, Var qkv, Var y, Tensor lse, int heads, int c, int most) {
        int cp = ring.size(), me = ring.rank(), time = rows();
        MemorySegment dOut = y.grad().data(), out = y.value().data();
        try (Tensor delta = Tensor.allocate(DType.F32, MemoryCategory.ACTIVATIONS, heads * time);
             Tensor a = Tensor.zeros(MemoryCategory.ACTIVATIONS, most, 4 * c);
             Tensor b = Tensor.zeros(MemoryCategory.ACTIVATIONS, most, 4 * c)) {
            int d = c / heads;
            for (int[] chunk : new int[][] {{0, chunks.size(me)}, {chunks.size(me), chunks.size(2 * cp - 1 - me)}}) {
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < chunk[1]; i++) {
                        double dot = 0;
                        long row = (long) (chunk[0] + i) * c + h * d;
                        for (int e = 0; e < d; e++) dot += dOut.getAtIndex(F, row + e) * out.getAtIndex(F, row + e);
                        delta.set((long) heads * chunk[0] + (long) h * chunk[1] + i, (float) dot);
                    }
                }
            }
            // Travelling buffer [rows, 4C]: k | v | dk | dv of the rank whose keys it carries.
            Tensor[] kvd = {a, b};
            copyColumns(qkv.value().data(), 3 * c, c, kvd[0].data(), 4 * c, 0, time, 2 * c);
            MemorySegment dQkv = qkv.grad().data();
            for (int step = 0; step < cp; step++) {
                int src = Math.floorMod(me - step, cp);
                MemorySegment buf = kvd[0].data();
                forEachBlock(src, heads, c, (block, qRow, kRow) -> k.blockBackward(block,
                        rows(qkv.value().data(), qRow, 3 * c, 0), 3 * c, rows(buf, kRow, 4 * c, 0), rows(buf, kRow, 4 * c, c), 4 * c,
                        lseOf(lse, heads, qRow, block.queries()), lseOf(delta, heads, qRow, block.queries()), rows(dOut, qRow, c, 0),
                        rows(dQkv, qRow, 3 * c, 0), rows(buf, kRow, 4 * c, 2 * c), rows(buf, kRow, 4 * c, 3 * c)));
                if (cp > 1) {
                    Work[] w = pass(buf, (long) chunks.rows(src) * 4 * c, kvd[1].data(), (long) chunks.rows(Math.floorMod(src - 1, cp)) * 4 * c);
                    w[0].await();
                    w[1].await();
                    Tensor t = kvd[0];
                    kvd[0] = kvd[1];
                    kvd[1] = t;
                }
            }
            // After cp hops this rank's own buffer is back, carrying every rank's share of dk and dv.
            addColumns(kvd[0].data(), 4 * c, 2 * c, dQkv, 3 * c, c, time, 2 * c);
        }
    }

    /**
     * One hop around the ring: {@code out} to the next rank, {@code in} from the previous one,
     * returned as {sent, received}. A rank's operations run in the order issued, and a large send
     * may wait until its receiver reads it; if every rank sent first, each would wait on the next
     * around the whole ring. Odd ranks receive first, so at least one receive is posted from the
     * start and the chain of sends drains.
     */
    private Work[] pass(MemorySegment out, long outCount, MemorySegment in, long inCount) {
        int cp = ring.size(), me = ring.rank();
        if (me % 2 == 1) {
            Work received = ring.recvAsync(in, DType.F32, inCount, Math.floorMod(me - 1, cp));
            return new Work[] {ring.sendAsync(out, DType.F32, outCount, (me + 1) % cp), received};
        }
        Work sent = ring.sendAsync(out, DType.F32, outCount, (me + 1) % cp);
        return new Work[] {sent, ring.recvAsync(in, DType.F32, inCount, Math.floorMod(me - 1, cp))};
    }

    private interface BlockBody {
        void run(AttentionKernels.Block block, int queryRow, int keyRow);
    }

    /**
     * The blocks of this rank's two query chunks against the two key chunks of rank {@code src}
     * that their queries can see (a key chunk after a query chunk is skipped), with the first row
     * of each in the rank's rows and in {@code src}'s buffer.
     */
    private void forEachBlock(int src, int heads, int c, BlockBody body) {
        int[] mine = chunks.of(ring.rank()), theirs = chunks.of(src);
        int qRow = 0;
        for (int qc : mine) {
            int kRow = 0;
            for (int kc : theirs) {
                if (chunks.start(kc) < chunks.start(qc + 1)) {
                    body.run(new AttentionKernels.Block(chunks.size(qc), chunks.size(kc), heads, c, chunks.start(qc) - chunks.start(kc)),
                            qRow, kRow);
                }
                kRow += chunks.size(kc);
            }
            qRow += chunks.size(qc);
        }
    }

    /** The log-sum-exps (or deltas) of the query chunk starting at row {@code qRow} with {@code n} rows: [heads, n]. */
    private static MemorySegment lseOf(Tensor t, int heads, int qRow, int n) {
        return t.data().asSlice((long) heads * qRow * 4, (long) heads * n * 4);
    }

    /** The segment from row {@code row}, column {@code col} of [.., ld] float rows. */
    private static MemorySegment rows(MemorySegment m, int row, int ld, int col) {
        return m.asSlice(((long) row * ld + col) * 4);
    }

    private static void copyColumns(MemorySegment src, int srcLd, int srcCol, MemorySegment dst, int dstLd, int dstCol, int n, int width) {
        for (int r = 0; r < n; r++) {
            MemorySegment.copy(src, ((long) r * srcLd + srcCol) * 4, dst, ((long) r * dstLd + dstCol) * 4, 4L * width);
        }
    }

    private static void addColumns(MemorySegment src, int srcLd, int srcCol, MemorySegment dst, int dstLd, int dstCol, int n, int width) {
        for (int r = 0; r < n; r++) {
            for (int e = 0; e < width; e++) {
                long to = (long) r * dstLd + dstCol + e;
                dst.setAtIndex(F, to, dst.getAtIndex(F, to) + src.getAtIndex(F, (long) r * srcLd + srcCol + e));
            }
        }
    }
}
