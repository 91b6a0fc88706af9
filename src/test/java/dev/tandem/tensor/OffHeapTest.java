package dev.tandem.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Off-heap buffers, small ones from the JDK's allocator and large ones mapped for huge pages. */
class OffHeapTest {
    @Test
    void largeBuffersAreZeroedAlignedForHugePagesAndFreedOnClose() {
        long bytes = HugePages.MIN_BYTES * 3 + 12_345; // not a whole number of huge pages
        long before = MemoryAccounting.current().live(MemoryCategory.OTHER);
        OffHeap buf = OffHeap.allocate(bytes, MemoryCategory.OTHER);
        assertThat(buf.byteSize()).isEqualTo(bytes);
        assertThat(MemoryAccounting.current().live(MemoryCategory.OTHER)).isEqualTo(before + bytes);
        if (HugePages.available()) assertThat(buf.segment().address() % HugePages.MIN_BYTES).isZero();
        assertThat(buf.segment().address() % OffHeap.ALIGNMENT).isZero();
        for (long i = 0; i < bytes; i += 4093) assertThat(buf.segment().get(ValueLayout.JAVA_BYTE, i)).isZero();
        assertThat(buf.segment().get(ValueLayout.JAVA_BYTE, bytes - 1)).isZero();
        buf.segment().set(ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8, 42L); // the whole length is usable
        assertThat(buf.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8)).isEqualTo(42L);
        buf.close();
        assertThat(MemoryAccounting.current().live(MemoryCategory.OTHER)).isEqualTo(before);
        assertThatThrownBy(() -> buf.segment().get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
        buf.close(); // twice is harmless
    }

    /**
     * A freed activation buffer is kept for the next allocation of its size and comes back zeroed;
     * live and kept activations together stay within the peak of live ones; other categories are
     * freed at once.
     */
    @Test
    void freedActivationsAreReusedZeroedWithinThePeak() {
        MemoryAccounting rank = MemoryAccounting.process().child("test rank");
        rank.run(() -> {
            OffHeap a = OffHeap.allocate(4096, MemoryCategory.ACTIVATIONS);
            OffHeap b = OffHeap.allocate(8192, MemoryCategory.ACTIVATIONS);
            long addressA = a.segment().address();
            a.segment().fill((byte) 7);
            a.close();
            b.close();
            assertThat(rank.live(MemoryCategory.ACTIVATIONS)).isZero();
            assertThat(rank.cachedBytes()).isEqualTo(4096 + 8192);
            OffHeap again = OffHeap.allocate(4096, MemoryCategory.ACTIVATIONS);
            assertThat(again.segment().address()).isEqualTo(addressA);
            for (long i = 0; i < 4096; i++) assertThat(again.segment().get(ValueLayout.JAVA_BYTE, i)).isZero();
            assertThat(rank.live(MemoryCategory.ACTIVATIONS)).isEqualTo(4096);
            assertThat(rank.cachedBytes()).isEqualTo(8192);
            // A new size raises the peak to 4096 + 16384 = 20480. Freed, it would make live (4096) and
            // kept (8192 + 16384) exceed that peak, so it is freed at once.
            OffHeap big = OffHeap.allocate(16384, MemoryCategory.ACTIVATIONS);
            big.close();
            assertThat(rank.cachedBytes()).isEqualTo(8192);
            assertThat(rank.live(MemoryCategory.ACTIVATIONS) + rank.cachedBytes())
                    .isLessThanOrEqualTo(rank.peak(MemoryCategory.ACTIVATIONS));
            again.close();
            OffHeap other = OffHeap.allocate(4096, MemoryCategory.OTHER);
            other.close();
            assertThatThrownBy(() -> other.segment().get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
            rank.releaseCachedBuffers();
            assertThat(rank.cachedBytes()).isZero();
        });
    }

    @Test
    void smallBuffersAreZeroedAndCacheLineAligned() {
        try (OffHeap buf = OffHeap.allocate(1000, MemoryCategory.OTHER)) {
            assertThat(buf.segment().address() % OffHeap.ALIGNMENT).isZero();
            for (long i = 0; i < 1000; i++) assertThat(buf.segment().get(ValueLayout.JAVA_BYTE, i)).isZero();
        }
        try (OffHeap empty = OffHeap.allocate(0, MemoryCategory.OTHER)) {
            assertThat(empty.byteSize()).isZero();
        }
    }
}
