package dev.tandem.tensor;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The single source of truth for "bytes per category" in this process (one rank). Every
 * off-heap allocation made through {@link Tensor} or {@link #allocate} is counted here and
 * uncounted when freed, so reports of bytes per rank are exact, not estimates.
 */
public final class MemoryAccounting {
    private static final MemoryCategory[] CATEGORIES = MemoryCategory.values();
    private static final AtomicLongArray LIVE = new AtomicLongArray(CATEGORIES.length);
    private static final AtomicLongArray PEAK = new AtomicLongArray(CATEGORIES.length);

    private MemoryAccounting() {}

    static void add(MemoryCategory category, long bytes) {
        int i = category.ordinal();
        long now = LIVE.addAndGet(i, bytes);
        PEAK.accumulateAndGet(i, now, Math::max);
    }

    static void remove(MemoryCategory category, long bytes) {
        long now = LIVE.addAndGet(category.ordinal(), -bytes);
        if (now < 0) {
            throw new IllegalStateException("memory accounting for " + category + " went negative: " + now);
        }
    }

    /** Bytes currently live in {@code category}. */
    public static long live(MemoryCategory category) {
        return LIVE.get(category.ordinal());
    }

    /** Highest live byte count seen in {@code category} since the last {@link #resetPeaks()}. */
    public static long peak(MemoryCategory category) {
        return PEAK.get(category.ordinal());
    }

    public static long liveTotal() {
        long sum = 0;
        for (int i = 0; i < CATEGORIES.length; i++) sum += LIVE.get(i);
        return sum;
    }

    /** Live bytes of every category, in declaration order. */
    public static Map<MemoryCategory, Long> snapshot() {
        Map<MemoryCategory, Long> out = new EnumMap<>(MemoryCategory.class);
        for (MemoryCategory c : CATEGORIES) out.put(c, live(c));
        return out;
    }

    /** Starts a new peak window at the current live values. */
    public static void resetPeaks() {
        for (int i = 0; i < CATEGORIES.length; i++) PEAK.set(i, LIVE.get(i));
    }
}
