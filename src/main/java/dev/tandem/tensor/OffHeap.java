package dev.tandem.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An accounted off-heap buffer with a deterministic lifetime: its memory is counted under a
 * {@link MemoryCategory} in the {@link MemoryAccounting#current()} accounting of the thread that
 * allocates it while open, and freed (and uncounted there, whichever thread closes it) by
 * {@link #close()}. Tensors,
 * communication buffers and snapshot buffers all allocate through this one mechanism. Buffers of
 * 2 MiB and more are asked to sit on huge pages ({@link HugePages}).
 */
public final class OffHeap implements AutoCloseable {
    /** Alignment of every buffer: one 64-byte cache line, which is also one AVX-512 vector. */
    public static final long ALIGNMENT = 64;

    private final Arena arena;
    private final MemorySegment segment;
    private final MemoryCategory category;
    private final MemoryAccounting accounting;
    private boolean closed;

    private OffHeap(Arena arena, MemorySegment segment, MemoryCategory category, MemoryAccounting accounting) {
        this.arena = arena;
        this.segment = segment;
        this.category = category;
        this.accounting = accounting;
        accounting.add(category, segment.byteSize());
    }

    /**
     * Allocates {@code bytes} zeroed bytes counted under {@code category}. Activations may come
     * from the rank's cache of freed ones ({@link BufferCache}): a training step frees and
     * allocates the same sizes every step.
     */
    public static OffHeap allocate(long bytes, MemoryCategory category) {
        if (bytes < 0) throw new IllegalArgumentException("negative allocation: " + bytes);
        MemoryAccounting accounting = MemoryAccounting.current();
        if (category == MemoryCategory.ACTIVATIONS) {
            BufferCache.Buffer reused = accounting.activationBuffers().take(bytes);
            if (reused != null) return new OffHeap(reused.arena(), reused.segment(), category, accounting);
        }
        boolean huge = bytes >= HugePages.MIN_BYTES && HugePages.available();
        Arena arena = Arena.ofShared();
        MemorySegment segment = huge ? HugePages.map(bytes, arena) : arena.allocate(Math.max(bytes, 1), ALIGNMENT).asSlice(0, bytes);
        return new OffHeap(arena, segment, category, accounting);
    }

    /**
     * Whether later buffers of 2 MiB and more are mapped for huge pages ({@link HugePages}; on by
     * default). A process setting, since the memory is the process's: the command line sets it once
     * at start-up from {@link ComputeOptions#hugePages()}.
     */
    public static void useHugePages(boolean on) {
        HugePages.enable(on);
    }

    public MemorySegment segment() {
        return segment;
    }

    public MemoryCategory category() {
        return category;
    }

    public long byteSize() {
        return segment.byteSize();
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        accounting.remove(category, segment.byteSize());
        if (category == MemoryCategory.ACTIVATIONS) {
            // Keep it while live and kept activations together stay within the peak already reached.
            long room = accounting.peak(category) - accounting.live(category);
            accounting.activationBuffers().give(new BufferCache.Buffer(arena, segment), room);
        } else {
            arena.close();
        }
    }
}
