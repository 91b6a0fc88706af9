package dev.tandem.comm;

import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.ReductionKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Everything one rank shares between its process groups: the links to every other rank, the
 * peer health, the operation log, and the single ordered queue of operations. Groups for mesh
 * axes are views over the same links, so their operations must also be issued in the same
 * order on every rank (as with one MPI communicator); message headers check that.
 */
final class Endpoint implements AutoCloseable {
    final int rank;
    final int size;
    final CommOptions options;
    /** The arithmetic of this rank's reductions (the kernel provider's). */
    final ReductionKernels reductions;
    final PeerHealth health;
    final OpLog log = new OpLog(1024);
    /** How this rank waits for its peers; only the operation holding {@link #lock} uses it. */
    final WaitPolicy waits;
    private final Link[] links;
    private final List<AutoCloseable> resources;
    private final ReentrantLock lock = new ReentrantLock();
    private ExecutorService executor;
    private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
    private volatile CommException broken;
    private volatile boolean closed;

    Endpoint(int rank, int size, Link[] links, CommOptions options, ReductionKernels reductions, PeerHealth health,
             List<AutoCloseable> resources, boolean oversubscribed) {
        this.waits = new WaitPolicy(oversubscribed);
        this.rank = rank;
        this.size = size;
        this.links = links.clone();
        this.options = options;
        this.reductions = reductions;
        this.health = health;
        this.resources = new ArrayList<>(resources);
    }

    Link link(int worldRank) {
        Link l = links[worldRank];
        if (l == null) throw new IllegalArgumentException("no link from rank " + rank + " to rank " + worldRank);
        return l;
    }

    long readsInPlace() {
        long n = 0;
        for (Link l : links) if (l != null) n += l.readsInPlace();
        return n;
    }

    String linkKind(int worldRank) {
        return worldRank == rank ? "self" : links[worldRank].kind();
    }

    /** Runs {@code body} now, after every operation issued before it. */
    void runSync(Runnable body) {
        CompletableFuture<Void> before;
        synchronized (this) {
            before = tail;
        }
        if (!before.isDone()) before.handle((v, e) -> null).join();
        locked(body);
    }

    /**
     * Queues {@code body} behind every operation issued before it; it runs with the memory
     * accounting of the rank that issued it ({@link MemoryAccounting#bound}).
     */
    synchronized Work submit(Runnable operation) {
        Runnable body = MemoryAccounting.bound(operation);
        if (executor == null) {
            executor = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "tandem-comm-rank" + rank);
                t.setDaemon(true);
                return t;
            });
        }
        CompletableFuture<Void> f = tail.handle((v, e) -> null).thenRunAsync(() -> locked(body), executor);
        tail = f;
        return new Work(f);
    }

    private void locked(Runnable body) {
        lock.lock();
        try {
            if (closed) throw new CommException("process group of rank " + rank + " is closed");
            CommException b = broken;
            if (b != null) {
                // Keeps the earlier failure's exit code: a rank stopped by a dead peer must not be blamed for it.
                throw new CommException("process group of rank " + rank + " is unusable after an earlier failure: "
                        + b.getMessage(), b.exitCode());
            }
            try {
                body.run();
            } catch (CommException e) {
                broken = e;
                throw e;
            } catch (RuntimeException | Error e) { // e.g. a protocol violation: the peers' state is unknown now
                broken = new CommException("rank " + rank + " failed in an operation: " + e, e);
                throw e;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code r} under the operation lock unless an operation holds it for more than a second. */
    void tryLocked(Runnable r) {
        try {
            if (!lock.tryLock(1, java.util.concurrent.TimeUnit.SECONDS)) return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            r.run();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        ExecutorService ex;
        synchronized (this) {
            if (closed) return;
            closed = true;
            ex = executor;
        }
        // Not under the lock: an operation stuck on a dead peer must not delay shutdown.
        if (ex != null) ex.shutdown();
        for (Link l : links) {
            if (l != null) l.close();
        }
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception ignored) {
                // closing is best effort: the process is usually about to exit
            }
        }
    }
}
