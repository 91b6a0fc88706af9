package dev.tandem.ckpt;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Saves one rank's state (its {@link Piece}s, live memory) as checkpoints, synchronously or
 * lazily and asynchronously in the manner of DataStates-LLM:
 *
 * <ul>
 *   <li>{@link #save} is called right after optimizer step k. Async: it takes a host snapshot
 *       buffer from a bounded pool (blocking only when every buffer is still being persisted:
 *       back-pressure) and starts copying the pieces into it on a background thread, then
 *       returns, so step k+1's forward and backward run while the copy runs; they only read
 *       parameters and never touch optimizer state.</li>
 *   <li>{@link #beforeUpdate} is called before optimizer step k+1, the first thing that writes
 *       the saved memory; it waits for the copy if it has not finished.</li>
 *   <li>Persisting (CRC32C, shard file, and on rank 0 the manifest and retention) continues on a
 *       second background thread from the snapshot, at idle CPU priority ({@link IdlePriority}),
 *       and gives the buffer back when done.</li>
 * </ul>
 *
 * Sync mode writes from live memory inside {@link #save}. Either way, the time the caller spent
 * blocked is counted per save. Errors on the background threads surface at the next call.
 */
public final class Checkpointer implements AutoCloseable {
    /**
     * @param root      the directory holding the step directories
     * @param saveId    the same on every rank of a job and different between jobs (a random id
     *                  agreed at start-up), so rank 0 never takes a stale file for this save's
     * @param buffers   snapshot buffers in the async pool (≥ 1)
     * @param timeout   how long rank 0 waits for the other ranks' files
     * @param peers     asked while rank 0 waits for a rank's file, so a failed rank ends the wait at once
     */
    public record Options(Path root, int rank, int worldSize, String saveId, boolean async, int buffers,
                          int keepLast, int keepEvery, Duration timeout, PeerCheck peers) {
        /** Options whose waits trust every rank to be alive until the timeout. */
        public Options(Path root, int rank, int worldSize, String saveId, boolean async, int buffers,
                       int keepLast, int keepEvery, Duration timeout) {
            this(root, rank, worldSize, saveId, async, buffers, keepLast, keepEvery, timeout, PeerCheck.NONE);
        }
    }

    /**
     * Told on rank 0 when a checkpoint is committed: its manifest is written (so the checkpoint is
     * complete and {@link Checkpoint#open} loads it) and retention has run. Called on the thread that
     * wrote the manifest: the caller of {@link #save} when synchronous, the background persist thread
     * when asynchronous (so it must be quick and thread-safe). An exception it throws fails the save.
     */
    @FunctionalInterface
    public interface CommitListener {
        /** Checkpoint {@code dir} of optimizer step {@code step} is committed. */
        void committed(long step, Path dir);

        /** Listens to nothing. */
        CommitListener NONE = (step, dir) -> { };
    }

    private final Options o;
    private final List<Piece> live;
    private final CrashPoint crash;
    private final Consumer<String> log;
    private final CommitListener onCommit;
    private final BlockingQueue<List<Tensor>> free;
    private final List<List<Tensor>> allBuffers = new ArrayList<>();
    private final ExecutorService copier, persister;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private CompletableFuture<Void> copying;
    private CompletableFuture<Void> persisting = CompletableFuture.completedFuture(null);
    private final List<Double> blockedMs = new ArrayList<>();
    private final List<Thread> workers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private double workerCpuMs = -1; // fixed at close(), when the worker threads end
    /** The rank's memory accounting: the copy and persist threads count what they allocate there. */
    private final MemoryAccounting memory = MemoryAccounting.current();
    private long blockedNanos;
    private int saves;

    public Checkpointer(Options o, List<Piece> live, Consumer<String> log) {
        this(o, live, log, CommitListener.NONE, CrashPoint.NONE);
    }

    /** The same, with {@code onCommit} told of each committed checkpoint (on rank 0). */
    public Checkpointer(Options o, List<Piece> live, Consumer<String> log, CommitListener onCommit) {
        this(o, live, log, onCommit, CrashPoint.NONE);
    }

    Checkpointer(Options o, List<Piece> live, Consumer<String> log, CrashPoint crash) {
        this(o, live, log, CommitListener.NONE, crash);
    }

    private Checkpointer(Options o, List<Piece> live, Consumer<String> log, CommitListener onCommit, CrashPoint crash) {
        this.o = o;
        this.onCommit = onCommit;
        this.live = List.copyOf(live);
        this.crash = crash;
        this.log = log;
        if (o.async()) {
            free = new ArrayBlockingQueue<>(Math.max(1, o.buffers()));
            copier = Executors.newSingleThreadExecutor(r -> worker(r, "tandem-ckpt-copy"));
            // Persisting has no deadline but the next save, so it runs at idle priority; the copy gates the
            // next optimizer step and keeps the normal one.
            persister = Executors.newSingleThreadExecutor(r -> worker(() -> {
                String why = IdlePriority.lowerCurrentThread();
                if (why != null) log.accept("checkpoint writer keeps normal CPU priority (" + why + "); it may slow training more");
                r.run();
            }, "tandem-ckpt-persist"));
            // The snapshot buffers are allocated (and zeroed) now, not inside the first saves, which
            // would otherwise block training for the allocation (tens of ms for a few tens of MB).
            for (int i = 0; i < Math.max(1, o.buffers()); i++) free.add(newBuffer());
        } else {
            free = null;
            copier = persister = null;
        }
    }

    private Thread worker(Runnable r, String name) {
        Thread t = new Thread(() -> memory.run(r), name);
        t.setDaemon(true);
        workers.add(t);
        return t;
    }

    /**
     * CPU time the background copy and persist threads used so far (0 for synchronous saves, whose
     * work is all blocked time). On a machine whose cores the training computation keeps busy,
     * this is time taken from training, however the scheduler spreads it, so it bounds the
     * slowdown that async checkpoints cause even where wall-clock noise hides it.
     */
    public double backgroundCpuMillis() {
        if (workerCpuMs >= 0) return workerCpuMs;
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long ns = 0;
        for (Thread t : workers) ns += Math.max(0, mx.getThreadCpuTime(t.threadId()));
        return ns / 1e6;
    }

    /** Bytes one snapshot of this rank holds. */
    public long snapshotBytes() {
        return live.stream().mapToLong(p -> p.bytes().byteSize()).sum();
    }

    /**
     * Checkpoints the state after {@code step} optimizer steps.
     *
     * @param info      rank 0: the run description for the manifest (model, plan, optimizer, rng)
     * @param tokenizer rank 0: tokenizer.json to keep with the checkpoint, or null
     */
    public void save(long step, ObjectNode info, Path tokenizer) {
        rethrow();
        long t0 = System.nanoTime();
        if (!o.async()) {
            persist(step, live, info, tokenizer);
        } else {
            beforeUpdate(); // a caller that saves twice without an update in between
            List<Tensor> buf = takeBuffer();
            List<Piece> snap = new ArrayList<>(live.size());
            for (int i = 0; i < live.size(); i++) snap.add(live.get(i).withBytes(buf.get(i).data()));
            copying = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < live.size(); i++) MemorySegment.copy(live.get(i).bytes(), 0, snap.get(i).bytes(), 0, snap.get(i).bytes().byteSize());
            }, copier);
            CompletableFuture<Void> copied = copying;
            // Persisting waits for this copy and, to keep saves in order, for the previous persist (even a
            // failed one: its error is already recorded, and this save must still give its buffer back).
            persisting = persisting.exceptionally(e -> null).runAfterBoth(copied.exceptionally(e -> null), () -> { }).thenRunAsync(() -> {
                try {
                    if (!copied.isCompletedExceptionally()) persist(step, snap, info, tokenizer); // else beforeUpdate reports it
                } finally {
                    free.add(buf);
                }
            }, persister).whenComplete((v, e) -> {
                if (e != null) failure.compareAndSet(null, e instanceof java.util.concurrent.CompletionException ce ? ce.getCause() : e);
            });
        }
        long ns = System.nanoTime() - t0;
        blockedNanos += ns;
        blockedMs.add(ns / 1e6);
        saves++;
    }

    private List<Tensor> newBuffer() {
        List<Tensor> buf = new ArrayList<>(live.size());
        for (Piece p : live) buf.add(Tensor.allocate(DType.U8, MemoryCategory.OTHER, Math.toIntExact(p.bytes().byteSize())));
        allBuffers.add(buf);
        return buf;
    }

    private List<Tensor> takeBuffer() {
        List<Tensor> buf = free.poll();
        if (buf != null) return buf;
        try {
            return free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TandemException("interrupted while waiting for a checkpoint buffer");
        }
    }

    /** Before the next optimizer update: waits until the last snapshot's copies are done. */
    public void beforeUpdate() {
        if (copying == null) return;
        long t0 = System.nanoTime();
        try {
            copying.join();
        } catch (java.util.concurrent.CompletionException e) {
            failure.compareAndSet(null, e.getCause());
        }
        copying = null;
        long ns = System.nanoTime() - t0;
        blockedNanos += ns;
        if (!blockedMs.isEmpty()) blockedMs.set(blockedMs.size() - 1, blockedMs.getLast() + ns / 1e6);
        rethrow();
    }

    /** Time the caller spent blocked in checkpointing since the last call (then resets). */
    public double takeBlockedMillis() {
        double ms = blockedNanos / 1e6;
        blockedNanos = 0;
        return ms;
    }

    /** Blocked time of each save so far (the save call plus the wait before the next update). */
    public List<Double> blockedMillisPerSave() {
        return List.copyOf(blockedMs);
    }

    public int saves() {
        return saves;
    }

    private void persist(long step, List<Piece> pieces, ObjectNode info, Path tokenizer) {
        Path dir = o.root().resolve(Checkpoints.dirName(step));
        String saveId = o.saveId() + "/" + step;
        try {
            Files.createDirectories(dir);
            // A manifest from an earlier run at this step would describe files we are about to replace.
            if (o.rank() == 0) Files.deleteIfExists(dir.resolve(Manifest.FILE));
            List<String> crcs = new ArrayList<>(pieces.size());
            for (Piece p : pieces) crcs.add(Crc.of(p.bytes()));
            ShardFile.write(dir.resolve(Manifest.shardName(o.rank(), o.worldSize())), pieces, crcs, saveId, crash);
            if (o.rank() == 0) {
                Manifest.commit(dir, step, o.worldSize(), saveId, info, tokenizer, o.timeout(), o.peers(), crash);
                Checkpoints.prune(o.root(), o.keepLast(), o.keepEvery(), log);
                onCommit.committed(step, dir);
            }
        } catch (IOException e) {
            throw new TandemException("cannot write checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    private void rethrow() {
        Throwable t = failure.get();
        if (t == null) return;
        // The exit code travels with the message: a rank that stops because a peer failed must not look like the culprit.
        if (t instanceof TandemException te) throw new TandemException(te.getMessage(), te, te.exitCode());
        throw new TandemException("checkpoint failed in the background: " + t, t);
    }

    /** Waits for every save to be on disk, then frees the snapshot buffers. */
    @Override
    public void close() {
        try {
            if (o.async()) {
                if (copying != null) copying.exceptionally(e -> null).join();
                persisting.exceptionally(e -> null).join();
                if (workerCpuMs < 0) workerCpuMs = backgroundCpuMillis();
                copier.shutdown();
                persister.shutdown();
                rethrow();
            }
        } finally {
            allBuffers.forEach(b -> b.forEach(Tensor::close));
            allBuffers.clear();
        }
    }
}
