package dev.tandem.offload;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import java.lang.foreign.MemorySegment;

/**
 * Host RAM off-heap as a tier: what "everything in memory" is, and the backing store of the
 * CXL-like tier. Its bytes are counted under {@link MemoryCategory#OFFLOADED}, outside the fast
 * tier's budget; its speed is measured when it opens ({@link Probe}) rather than stated.
 */
public final class RamTier implements Tier {
    private final OffHeap memory;
    private final TierSpec spec;
    private final Traffic traffic = new Traffic();

    /** {@code bytes} of zeroed RAM. */
    public RamTier(long bytes) {
        this.memory = OffHeap.allocate(bytes, MemoryCategory.OFFLOADED);
        double[] bw = Probe.bandwidth(bytes, (dst, at) -> MemorySegment.copy(memory.segment(), at, dst, 0, dst.byteSize()),
                (src, at) -> MemorySegment.copy(src, 0, memory.segment(), at, src.byteSize()));
        this.spec = new TierSpec("ram", bytes, bw[0], bw[1], 0);
    }

    @Override
    public TierSpec spec() {
        return spec;
    }

    @Override
    public void read(long offset, MemorySegment dst) {
        MemorySegment.copy(memory.segment(), offset, dst, 0, dst.byteSize());
        traffic.countRead(dst.byteSize());
    }

    @Override
    public void write(long offset, MemorySegment src) {
        MemorySegment.copy(src, 0, memory.segment(), offset, src.byteSize());
        traffic.countWritten(src.byteSize());
    }

    @Override
    public MemorySegment view(long offset, long bytes) {
        return memory.segment().asSlice(offset, bytes);
    }

    @Override
    public Traffic traffic() {
        return traffic;
    }

    @Override
    public void close() {
        memory.close();
    }
}
