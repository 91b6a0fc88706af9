package dev.tandem.parallel;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Where one MoE block's rows travel in one forward pass under an {@link ExpertPlacement}: each
 * expert's rows split evenly among its holders, rows per (rank, expert) in both directions (the
 * counts are exchanged by an all-to-all before any row moves), and the copies between the three
 * layouts a row passes through: packed by expert on the sending rank, by destination then expert
 * in the send buffer, by source then expert in the receive buffer, and by expert then source
 * where the experts compute.
 */
final class Route {
    final int me, ranks, experts;
    final int[][] send, firstRow, recv; // [rank][expert]
    final long[] sendRows, recvRows;
    final int held;                     // rows this rank computes
    final long countBytes;              // bytes of counts sent to other ranks

    private Route(int me, int ranks, int experts, int[][] send, int[][] firstRow, int[][] recv) {
        this.me = me;
        this.ranks = ranks;
        this.experts = experts;
        this.send = send;
        this.firstRow = firstRow;
        this.recv = recv;
        this.sendRows = rowsPerRank(send);
        this.recvRows = rowsPerRank(recv);
        long h = 0;
        for (long r : recvRows) h += r;
        this.held = Math.toIntExact(h);
        this.countBytes = (long) (ranks - 1) * experts * 4;
    }

    /** The route of rows packed by expert ({@code counts[e]} rows of expert e), counts exchanged over {@code group}. */
    static Route of(ExpertPlacement pl, int[] counts, ProcessGroup group, int cols) {
        int p = group.size(), e = counts.length;
        int[][] send = new int[p][e], first = new int[p][e], recv = new int[p][e];
        int row = 0;
        for (int x = 0; x < e; x++) {
            int[] parts = pl.split(x, counts[x]);
            for (int j = 0; j < parts.length; j++) {
                int d = pl.holders()[x][j];
                send[d][x] = parts[j];
                first[d][x] = row;
                row += parts[j];
            }
        }
        try (Tensor out = Tensor.allocate(DType.I32, MemoryCategory.COMMUNICATION, p * e);
             Tensor in = Tensor.allocate(DType.I32, MemoryCategory.COMMUNICATION, p * e)) {
            for (int d = 0; d < p; d++) for (int x = 0; x < e; x++) out.setInt((long) d * e + x, send[d][x]);
            group.allToAll(out.data(), in.data(), DType.I32, e);
            for (int s = 0; s < p; s++) for (int x = 0; x < e; x++) recv[s][x] = in.getInt((long) s * e + x);
        }
        return new Route(group.rank(), p, e, send, first, recv);
    }

    private static long[] rowsPerRank(int[][] m) {
        long[] out = new long[m.length];
        for (int r = 0; r < m.length; r++) for (int x : m[r]) out[r] += x;
        return out;
    }

    /** Rows packed by expert → the send buffer (by destination, then expert). */
    Tensor pack(Tensor packed, int cols) {
        Tensor out = Tensor.zeros(MemoryCategory.COMMUNICATION, Math.toIntExact(sum(sendRows)), cols);
        int at = 0;
        for (int d = 0; d < ranks; d++) {
            for (int x = 0; x < experts; x++) {
                copy(packed, firstRow[d][x], out, at, send[d][x], cols);
                at += send[d][x];
            }
        }
        return out;
    }

    /** The inverse of {@link #pack}: a buffer by destination back into rows packed by expert. */
    void unpack(Tensor byDestination, Tensor packed, int cols) {
        int at = 0;
        for (int d = 0; d < ranks; d++) {
            for (int x = 0; x < experts; x++) {
                copy(byDestination, at, packed, firstRow[d][x], send[d][x], cols);
                at += send[d][x];
            }
        }
    }

    /** The receive buffer (by source, then expert) → by expert, then source. */
    void toExpertMajor(Tensor bySource, Tensor byExpert, int cols) {
        permute(bySource, byExpert, cols, true);
    }

    void toSourceMajor(Tensor byExpert, Tensor bySource, int cols) {
        permute(byExpert, bySource, cols, false);
    }

    private void permute(Tensor from, Tensor to, int cols, boolean toExpertMajor) {
        int[][] sourceStart = new int[ranks][experts];
        int at = 0;
        for (int s = 0; s < ranks; s++) {
            for (int x = 0; x < experts; x++) {
                sourceStart[s][x] = at;
                at += recv[s][x];
            }
        }
        at = 0;
        for (int x = 0; x < experts; x++) {
            for (int s = 0; s < ranks; s++) {
                if (toExpertMajor) copy(from, sourceStart[s][x], to, at, recv[s][x], cols);
                else copy(from, at, to, sourceStart[s][x], recv[s][x], cols);
                at += recv[s][x];
            }
        }
    }

    /** What to do with one held expert's rows (by expert, then source). */
    interface Block {
        void run(int expert, int firstRow, int rows);
    }

    void eachHeld(Block b) {
        int at = 0;
        for (int x = 0; x < experts; x++) {
            int n = 0;
            for (int s = 0; s < ranks; s++) n += recv[s][x];
            if (n > 0) b.run(x, at, n);
            at += n;
        }
    }

    private static void copy(Tensor from, int fromRow, Tensor to, int toRow, int rows, int cols) {
        if (rows == 0) return;
        long bytes = (long) cols * 4;
        MemorySegment.copy(from.data(), fromRow * bytes, to.data(), toRow * bytes, rows * bytes);
    }

    private static long sum(long[] a) {
        long s = 0;
        for (long x : a) s += x;
        return s;
    }
}
