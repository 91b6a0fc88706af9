package dev.tandem.parallel;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.Work;
import dev.tandem.nn.ExpertWeights;
import dev.tandem.nn.Parameter;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * FSSDP's SparseAllGather of one MoE block, in flight: each replicated expert's parameters travel
 * from its owner to its other holders by one all-to-all-v, started when this object is made (the
 * owner's values are copied out at once) and finished by {@link #replicas}, so that the block's
 * attention computes in between. Nothing moves, and no collective runs, when nothing is
 * replicated.
 */
final class ReplicaGather implements AutoCloseable {
    private final ExpertPlacement placement;
    private final List<ExpertWeights> experts;
    private final int rank;
    private final long[] recvCounts;
    private final Tensor send, recv; // null when nothing is replicated
    private final Work work;
    private final long bytesSent;
    private boolean closed;

    /** Starts gathering {@code placement}'s replicas of {@code experts} (each {@code perExpert} floats) over {@code group}. */
    ReplicaGather(ProcessGroup group, ExpertPlacement placement, List<ExpertWeights> experts, int perExpert) {
        this.placement = placement;
        this.experts = experts;
        this.rank = group.rank();
        int n = group.size();
        long[] sc = new long[n];
        recvCounts = new long[n];
        if (placement.replicas() == 0) {
            send = recv = null;
            work = null;
            bytesSent = 0;
            return;
        }
        for (int[] hs : placement.holders()) {
            for (int j = 1; j < hs.length; j++) {
                if (hs[0] == rank) sc[hs[j]] += perExpert;
                if (hs[j] == rank) recvCounts[hs[0]] += perExpert;
            }
        }
        send = Tensor.zeros(MemoryCategory.COMMUNICATION, Math.toIntExact(ExpertParallel.sum(sc)));
        recv = Tensor.zeros(MemoryCategory.COMMUNICATION, Math.toIntExact(ExpertParallel.sum(recvCounts)));
        long[] offsets = ExpertParallel.offsets(sc);
        for (int e = 0; e < experts.size(); e++) {
            int[] hs = placement.holders()[e];
            if (hs[0] != rank) continue;
            for (int j = 1; j < hs.length; j++) {
                for (Parameter p : experts.get(e).all()) {
                    MemorySegment.copy(p.value().data(), 0, send.data(), offsets[hs[j]] * 4, p.value().byteSize());
                    offsets[hs[j]] += p.numel();
                }
            }
        }
        work = group.allToAllVAsync(send.data(), sc, recv.data(), recvCounts, DType.F32);
        long bytes = 0;
        for (int d = 0; d < n; d++) if (d != rank) bytes += sc[d] * 4;
        bytesSent = bytes;
    }

    /** The placement this gather serves. */
    ExpertPlacement placement() {
        return placement;
    }

    /** Bytes this rank sends to other ranks in this gather. */
    long bytesSent() {
        return bytesSent;
    }

    /**
     * Waits for the gather and returns this rank's replicas by expert, detached parameters the
     * caller closes; the transfer buffers are freed here.
     */
    Map<Integer, ExpertWeights> replicas() {
        Map<Integer, ExpertWeights> out = new HashMap<>();
        if (work == null) return out;
        if (closed) throw new IllegalStateException("the replicas of this gather were taken already");
        try {
            work.await();
            long[] from = ExpertParallel.offsets(recvCounts);
            for (int e = 0; e < experts.size(); e++) {
                int[] hs = placement.holders()[e];
                if (hs[0] == rank || !ExpertPlacement.holds(hs, rank)) continue;
                List<Parameter> copy = new ArrayList<>();
                for (Parameter p : experts.get(e).all()) {
                    Parameter q = Parameter.detached(p.name() + "@replica", p.shape());
                    MemorySegment.copy(recv.data(), from[hs[0]] * 4, q.value().data(), 0, q.value().byteSize());
                    from[hs[0]] += q.numel();
                    copy.add(q);
                }
                out.put(e, new ExpertWeights(copy.get(0), copy.get(1), copy.get(2), copy.get(3)));
            }
        } finally {
            close();
        }
        return out;
    }

    /** Waits for the transfer (the buffers may not be freed under it) and frees the buffers; idempotent. */
    @Override
    public void close() {
        if (send == null || closed) return;
        closed = true;
        work.await();
        send.close();
        recv.close();
    }
}
