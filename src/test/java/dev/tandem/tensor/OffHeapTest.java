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
