package dev.tandem.tensor;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The single source of truth for "bytes per category" of one rank. Every off-heap allocation
 * made through {@link Tensor} or {@link OffHeap} is counted in the accounting that is
 * {@link #current()} on the allocating thread, and uncounted there when freed (from whatever
 * thread), so reports of bytes per rank are exact, not estimates.
 *
 * <p>Which accounting is current: the one bound to the thread with {@link #run} or {@link #call}
 * (a {@link ScopedValue}), else the process's ({@link #process()}). A process that is one rank
 * needs no binding. Ranks run as threads in one JVM ({@code comm.LocalWorld.run}) each bind a
 * {@link #child} of their own around their work, so each sees its own numbers, while the process's
 * accounting, their parent, still counts everything. Threads that work for a rank carry its
 * accounting over: tasks of a {@link WorkerPool} run bound to the accounting of the thread that
 * submitted them ({@link #bound}), and so do a rank's communication and checkpoint threads.
 */
public final class MemoryAccounting {
    private static final MemoryCategory[] CATEGORIES = MemoryCategory.values();
    private static final ScopedValue<MemoryAccounting> CURRENT = ScopedValue.newInstance();
    private static final MemoryAccounting PROCESS = new MemoryAccounting("process", null);

    private final String name;
    private final MemoryAccounting parent;
    private final AtomicLongArray live = new AtomicLongArray(CATEGORIES.length);
    private final AtomicLongArray peak = new AtomicLongArray(CATEGORIES.length);
    private final BufferCache activationBuffers = new BufferCache();

    private MemoryAccounting(String name, MemoryAccounting parent) {
        this.name = name;
        this.parent = parent;
    }

    /** The accounting allocations of this thread count in: the one bound here, else the process's. */
    public static MemoryAccounting current() {
        return CURRENT.orElse(PROCESS);
    }

    /** Everything this process allocated, whichever rank it was for. */
    public static MemoryAccounting process() {
        return PROCESS;
    }

    /** A new accounting (e.g. of one rank) whose allocations also count in this one. */
    public MemoryAccounting child(String childName) {
        return new MemoryAccounting(childName, this);
    }

    public String name() {
        return name;
    }

    /** Runs {@code body} on this thread with this accounting current. */
    public void run(Runnable body) {
        ScopedValue.where(CURRENT, this).run(body);
    }

    /** Calls {@code body} on this thread with this accounting current. */
    public <T, X extends Throwable> T call(ScopedValue.CallableOp<? extends T, X> body) throws X {
        return ScopedValue.where(CURRENT, this).call(body);
    }

    /** {@code body}, to run on another thread as this thread's current accounting (nothing to do for the process's). */
    public static Runnable bound(Runnable body) {
        MemoryAccounting here = current();
        return here == PROCESS ? body : () -> here.run(body);
    }

    void add(MemoryCategory category, long bytes) {
        int i = category.ordinal();
        for (MemoryAccounting a = this; a != null; a = a.parent) {
            long now = a.live.addAndGet(i, bytes);
            a.peak.accumulateAndGet(i, now, Math::max);
        }
    }

    void remove(MemoryCategory category, long bytes) {
        for (MemoryAccounting a = this; a != null; a = a.parent) {
            long now = a.live.addAndGet(category.ordinal(), -bytes);
            if (now < 0) {
                throw new IllegalStateException("memory accounting '" + a.name + "' for " + category + " went negative: " + now);
            }
        }
    }

    /** Freed activation buffers this accounting's rank may reuse ({@link OffHeap}). */
    BufferCache activationBuffers() {
        return activationBuffers;
    }

    /** Frees the activation buffers kept for reuse: when the rank is done, or to measure memory without them. */
    public void releaseCachedBuffers() {
        activationBuffers.release();
    }

    /** Bytes of freed activation buffers kept for reuse (not live, but resident). */
    public long cachedBytes() {
        return activationBuffers.bytes();
    }

    /** Bytes currently live in {@code category}. */
    public long live(MemoryCategory category) {
        return live.get(category.ordinal());
    }

    /** Highest live byte count seen in {@code category} since the last {@link #resetPeaks()}. */
    public long peak(MemoryCategory category) {
        return peak.get(category.ordinal());
    }

    public long liveTotal() {
        long sum = 0;
        for (int i = 0; i < CATEGORIES.length; i++) sum += live.get(i);
        return sum;
    }

    /** Live bytes of every category, in declaration order. */
    public Map<MemoryCategory, Long> snapshot() {
        Map<MemoryCategory, Long> out = new EnumMap<>(MemoryCategory.class);
        for (MemoryCategory c : CATEGORIES) out.put(c, live(c));
        return out;
    }

    /** Starts a new peak window at the current live values (of this accounting only). */
    public void resetPeaks() {
        for (int i = 0; i < CATEGORIES.length; i++) peak.set(i, live.get(i));
    }
}
