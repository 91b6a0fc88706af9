package dev.tandem.comm;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.ReductionKernels;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What one rank sends to and receives from the other islands: the ranks at the same position of
 * every island, in island order, over a {@link PacedLink} (the slow link between islands). Only
 * point-to-point messages, so that every byte leaving the island is counted here, exactly: {@link
 * #bytesSent()} is the float32 payload this rank sent, without the 8-byte delivery stamp that goes
 * ahead of each message (bookkeeping of the simulated link, not part of what a real link carries).
 *
 * <p>Blocking sends (a transport may hold the sender until the receiver has read the payload)
 * never wait on each other in a cycle: in the ring, even ranks send first and odd ones receive
 * first; in a pair, the lower rank sends first. Waiting for the slow link happens after both
 * directions are under way, so a pair exchanging messages pays the link once, not twice.
 */
public final class IslandChannel implements AutoCloseable {
    /** The collectives' own arithmetic, so the mean is computed as every all-reduce computes it. */
    private static final ReductionKernels REDUCE = ReductionKernels.fast();
    private final ProcessGroup group;
    private final PacedLink link;
    private final Tensor stampOut = Tensor.allocate(DType.U8, MemoryCategory.COMMUNICATION, 8);
    private final Tensor stampIn = Tensor.allocate(DType.U8, MemoryCategory.COMMUNICATION, 8);
    private long bytesSent;

    /** @param group one rank per island (this rank's island at {@link ProcessGroup#rank()}) */
    public IslandChannel(ProcessGroup group, PacedLink link) {
        this.group = group;
        this.link = link;
    }

    /** Islands joined by this channel. */
    public int islands() {
        return group.size();
    }

    /** This rank's island. */
    public int island() {
        return group.rank();
    }

    /** Float32 payload bytes this rank has sent to other islands so far. */
    public long bytesSent() {
        return bytesSent;
    }

    /**
     * In place: every island ends with the element-wise mean of all islands' {@code buf} ({@code
     * count} floats), bitwise the same on every island. A ring: reduce-scatter then all-gather, so
     * each rank sends 2·(k−1)/k of the buffer (exactly the buffer for two islands).
     */
    public void allReduceMean(MemorySegment buf, long count) {
        int k = group.size(), r = group.rank();
        if (k == 1) return;
        int right = (r + 1) % k, left = (r + k - 1) % k;
        long[] start = new long[k + 1];
        for (int c = 0; c <= k; c++) start[c] = count * c / k;
        long largest = 0;
        for (int c = 0; c < k; c++) largest = Math.max(largest, start[c + 1] - start[c]);
        try (Tensor tmp = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, Math.toIntExact(Math.max(1, largest)))) {
            for (int s = 0; s < k - 1; s++) {
                int send = Math.floorMod(r - s, k), recv = Math.floorMod(r - s - 1, k);
                long n = start[recv + 1] - start[recv];
                MemorySegment in = tmp.data().asSlice(0, n * 4);
                shift(chunk(buf, start, send), start[send + 1] - start[send], right, in, n, left, r % 2 == 0);
                MemorySegment own = chunk(buf, start, recv);
                REDUCE.sum(DType.F32, own, in, own);
            }
            int mine = (r + 1) % k;
            REDUCE.divide(DType.F32, chunk(buf, start, mine), k);
            for (int s = 0; s < k - 1; s++) {
                int send = Math.floorMod(r + 1 - s, k), recv = Math.floorMod(r - s, k);
                shift(chunk(buf, start, send), start[send + 1] - start[send], right, chunk(buf, start, recv), start[recv + 1] - start[recv], left,
                        r % 2 == 0);
            }
        }
    }

    /** Sends {@code mine} ({@code count} floats) to island {@code peer} and receives its message of the same size into {@code theirs}. */
    public void exchange(int peer, MemorySegment mine, MemorySegment theirs, long count) {
        if (peer == group.rank()) throw new IllegalArgumentException("island " + peer + " cannot exchange with itself");
        shift(mine, count, peer, theirs, count, peer, group.rank() < peer);
    }

    private static MemorySegment chunk(MemorySegment buf, long[] start, int c) {
        return buf.asSlice(start[c] * 4, (start[c + 1] - start[c]) * 4);
    }

    /**
     * Sends {@code out} to {@code dst} and receives {@code in} from {@code src}, the send first when
     * {@code sendFirst}; returns once the slow link has delivered {@code in}.
     */
    private void shift(MemorySegment out, long outCount, int dst, MemorySegment in, long inCount, int src, boolean sendFirst) {
        long deliveredAt;
        if (sendFirst) {
            send(out, outCount, dst);
            deliveredAt = receive(in, inCount, src);
        } else {
            deliveredAt = receive(in, inCount, src);
            send(out, outCount, dst);
        }
        PacedLink.awaitDelivery(deliveredAt);
    }

    private void send(MemorySegment buf, long count, int dst) {
        stampOut.data().set(ValueLayout.JAVA_LONG_UNALIGNED, 0, link.send(count * 4));
        group.send(stampOut.data(), DType.U8, 8, dst);
        if (count > 0) group.send(buf, DType.F32, count, dst);
        bytesSent += count * 4;
    }

    private long receive(MemorySegment buf, long count, int src) {
        group.recv(stampIn.data(), DType.U8, 8, src);
        if (count > 0) group.recv(buf, DType.F32, count, src);
        return stampIn.data().get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
    }

    /** Frees the stamps; the group belongs to the mesh. */
    @Override
    public void close() {
        stampOut.close();
        stampIn.close();
    }
}
