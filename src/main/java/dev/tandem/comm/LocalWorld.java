package dev.tandem.comm;

import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import dev.tandem.tensor.ReductionKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Ranks as threads in one JVM: n world groups connected by in-memory rings, through exactly the
 * same {@link ProcessGroup} code as separate processes (only the ring memory differs from the
 * shared-memory transport). Used by tests and by single-host tools that want threads.
 */
public final class LocalWorld {
    private LocalWorld() {}

    /** What each rank thread runs. */
    @FunctionalInterface
    public interface RankBody {
        void run(ProcessGroup world) throws Exception;
    }

    /** Creates the world groups of {@code n} ranks with the fast reductions; close every one of them. */
    public static List<ProcessGroup> create(int n, CommOptions options) {
        return create(n, options, ReductionKernels.fast());
    }

    /** Creates the world groups of {@code n} ranks that reduce with {@code reductions}; close every one of them. */
    public static List<ProcessGroup> create(int n, CommOptions options, ReductionKernels reductions) {
        if (n < 1) throw new IllegalArgumentException("world size must be >= 1: " + n);
        boolean oversubscribed = HostCpus.outnumbered(n, List.of(HostCpus.allowedList())); // the threads share this process's CPUs
        long cap = Math.min(options.ringCapacity(n, oversubscribed), 1L << 20); // threads share one heap of memory; keep rings modest
        long segBytes = ByteRing.segmentBytes(cap);
        Shared[][] rings = new Shared[n][n]; // rings[i][j]: i writes, j reads
        DirectPath[][] direct = new DirectPath[n][n]; // direct[i][j]: j reads i's large payloads in place
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i == j) continue;
                rings[i][j] = new Shared(OffHeap.allocate(segBytes, MemoryCategory.COMMUNICATION));
                direct[i][j] = new DirectPath.InProcess();
            }
        }
        List<ProcessGroup> groups = new ArrayList<>(n);
        for (int r = 0; r < n; r++) {
            Link[] links = new Link[n];
            for (int p = 0; p < n; p++) {
                if (p == r) continue;
                Shared out = rings[r][p], in = rings[p][r];
                links[p] = new RingLink(p, "local", new ByteRing(out.mem.segment()), new ByteRing(in.mem.segment()), () -> {
                    out.release();
                    in.release();
                }, direct[r][p], direct[p][r], options.singleCopyFrom(cap, false));
            }
            groups.add(PeerGroup.world(new Endpoint(r, n, links, options, reductions, PeerHealth.ALWAYS_OK, List.of(), oversubscribed)));
        }
        return groups;
    }

    /**
     * Runs {@code body} on {@code n} rank threads and waits for all; a rank that fails closes its
     * group (so its peers fail fast instead of waiting for the timeout). Throws the first
     * failure, with the others attached as suppressed. Each rank thread counts its memory in an
     * accounting of its own ({@link MemoryAccounting#child} of the caller's, named "rank r"), as a
     * rank process would; the world's rings, created here, count in the caller's.
     */
    public static void run(int n, CommOptions options, RankBody body) {
        List<ProcessGroup> groups = create(n, options);
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            ProcessGroup g = groups.get(r);
            int rank = r;
            MemoryAccounting memory = MemoryAccounting.current().child("rank " + r);
            Thread t = Thread.ofPlatform().name("rank-" + r).unstarted(() -> memory.run(() -> {
                try (g) {
                    body.run(g);
                } catch (Throwable e) {
                    failures.add(new RankFailure(rank, e));
                } finally {
                    memory.releaseCachedBuffers(); // the rank is done: its kept activation buffers go
                }
            }));
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for rank threads", e);
            }
        }
        if (!failures.isEmpty()) {
            RankFailure first = (RankFailure) failures.getFirst();
            for (Throwable f : failures.subList(1, failures.size())) first.addSuppressed(f);
            throw first;
        }
    }

    /** A rank thread's failure; {@link #getCause()} is what it threw. */
    public static final class RankFailure extends RuntimeException {
        private final int rank;

        RankFailure(int rank, Throwable cause) {
            super("rank " + rank + " failed: " + cause, cause);
            this.rank = rank;
        }

        public int rank() {
            return rank;
        }
    }

    /** Ring memory shared by a writer's and a reader's link; freed when both have closed. */
    private static final class Shared {
        final OffHeap mem;
        final AtomicInteger refs = new AtomicInteger(2);

        Shared(OffHeap mem) {
            this.mem = mem;
        }

        void release() {
            if (refs.decrementAndGet() == 0) mem.close();
        }
    }
}
