package dev.tandem.offload;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import java.lang.foreign.MemorySegment;
import java.util.function.ObjLongConsumer;

/**
 * Measures a tier's read and write bandwidth on this machine when it opens: copies of up to
 * 8 MiB from the start of its range and back (the bytes read are written back unchanged), best
 * of three, so a tier's spec states what this machine does rather than a catalog number.
 */
final class Probe {
    private static final long BYTES = 8L << 20;

    private Probe() {}

    /** {read bytes/s, write bytes/s} of {@code read(offset, dst)} and {@code write(offset, src)} over {@code capacity} bytes. */
    static double[] bandwidth(long capacity, ObjLongConsumer<MemorySegment> read, ObjLongConsumer<MemorySegment> write) {
        long n = Math.min(BYTES, capacity);
        if (n == 0) return new double[] {1, 1};
        try (OffHeap buf = OffHeap.allocate(n, MemoryCategory.OTHER)) {
            long bestRead = Long.MAX_VALUE, bestWrite = Long.MAX_VALUE;
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime();
                read.accept(buf.segment(), 0);
                long t1 = System.nanoTime();
                write.accept(buf.segment(), 0);
                long t2 = System.nanoTime();
                bestRead = Math.min(bestRead, Math.max(1, t1 - t0));
                bestWrite = Math.min(bestWrite, Math.max(1, t2 - t1));
            }
            return new double[] {n * 1e9 / bestRead, n * 1e9 / bestWrite};
        }
    }
}
