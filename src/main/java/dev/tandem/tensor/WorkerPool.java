package dev.tandem.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The compute threads of one rank. A rank creates its pool where it is set up and hands it to its
 * kernels ({@link Kernels#fast(WorkerPool)}); ranks run as threads in one JVM each have their own.
 * Kernels split work into contiguous ranges with {@link #parallelFor}; the calling thread runs one
 * range itself. A kernel called from inside a pool thread runs serially, so nested parallel
 * regions never deadlock or oversubscribe. Tasks run with the {@link MemoryAccounting} of the
 * thread that started them, so what they allocate counts for that rank. Close the pool to stop its
 * threads.
 */
public final class WorkerPool implements AutoCloseable {
    /** Ranges a body processes: {@code [begin, end)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int begin, int end);
    }

    /** A range {@code [begin, end)} and its task index, below {@link #tasks}: for kernels with working memory per task. */
    @FunctionalInterface
    public interface TaskBody {
        void run(int task, int begin, int end);
    }

    /** Whether this thread is one of some pool's workers (or is running a pool's task): kernels then run serially. */
    private static final ThreadLocal<Boolean> IN_POOL = ThreadLocal.withInitial(() -> false);
    /** A pool of one thread, the caller's: owns no threads, needs no closing. */
    public static final WorkerPool SERIAL = new WorkerPool(1);

    private final int threads;
    private final ExecutorService executor;

    /** A pool of {@code threads} threads: the caller and {@code threads − 1} workers. */
    public WorkerPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.executor = threads <= 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(() -> {
                IN_POOL.set(true);
                r.run();
            }, "tandem-worker");
            t.setDaemon(true);
            return t;
        });
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into at most {@code threads} contiguous ranges
     * of at least {@code minPerTask} items each; returns when all are done.
     */
    public void parallelFor(int n, int minPerTask, RangeBody body) {
        parallelTasks(n, minPerTask, (task, begin, end) -> body.run(begin, end));
    }

    /** The most tasks {@link #parallelTasks} splits {@code n} items into: task indices are below this. */
    public int tasks(int n, int minPerTask) {
        return Math.min(threads, Math.max(1, n / Math.max(1, minPerTask)));
    }

    /** {@link #parallelFor}, telling the body which task (0, 1, ...) each range is. */
    public void parallelTasks(int n, int minPerTask, TaskBody body) {
        if (n <= 0) return;
        int tasks = tasks(n, minPerTask);
        if (tasks == 1 || executor == null || IN_POOL.get()) {
            body.run(0, 0, n);
            return;
        }
        List<Future<?>> futures = new ArrayList<>(tasks - 1);
        for (int t = 1; t < tasks; t++) {
            int task = t;
            int begin = (int) ((long) n * t / tasks);
            int end = (int) ((long) n * (t + 1) / tasks);
            futures.add(executor.submit(MemoryAccounting.bound(() -> body.run(task, begin, end))));
        }
        boolean wasInPool = IN_POOL.get();
        IN_POOL.set(true);
        try {
            body.run(0, 0, (int) ((long) n / tasks));
        } finally {
            IN_POOL.set(wasInPool);
        }
        awaitAll(futures);
    }

    /** Stops the worker threads (after the tasks already started). */
    @Override
    public void close() {
        if (executor != null) executor.shutdown();
    }

    private static void awaitAll(List<Future<?>> futures) {
        RuntimeException first = null;
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (first == null) first = c instanceof RuntimeException re ? re : new RuntimeException(c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (first == null) first = new RuntimeException("interrupted while waiting for workers", e);
            }
        }
        if (first != null) throw first;
    }
}
