package dev.tandem.offload;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A slower memory tier holding one flat range of bytes for one rank: RAM off-heap ({@link
 * RamTier}), a file on local disk ({@link FileTier}), or either behind a throttle that behaves
 * like a CXL expander ({@link ThrottledTier}). Training moves bytes in and out with {@link #read}
 * and {@link #write} (which count the traffic and pay the tier's costs); checkpoints read and
 * restore through {@link #view}, the tier's own bytes, so a save copies them once, straight to
 * the checkpoint file.
 */
public sealed interface Tier extends AutoCloseable permits RamTier, FileTier, ThrottledTier {
    TierSpec spec();

    /** Copies {@code dst.byteSize()} bytes from {@code offset} in the tier into {@code dst}. */
    void read(long offset, MemorySegment dst);

    /** Copies {@code src} to {@code offset} in the tier. */
    void write(long offset, MemorySegment src);

    /** The tier's bytes at {@code [offset, offset + bytes)}, addressable in place (for checkpoints). */
    MemorySegment view(long offset, long bytes);

    /** Bytes moved by {@link #read} and {@link #write} so far. */
    Traffic traffic();

    @Override
    void close();

    /** Bytes read from and written to a tier, counted as they move. */
    final class Traffic {
        private final AtomicLong read = new AtomicLong(), written = new AtomicLong();

        void countRead(long bytes) {
            read.addAndGet(bytes);
        }

        void countWritten(long bytes) {
            written.addAndGet(bytes);
        }

        /** Starts counting from zero (after a tier's own measurements, which are not training's traffic). */
        void reset() {
            read.set(0);
            written.set(0);
        }

        public long readBytes() {
            return read.get();
        }

        public long writtenBytes() {
            return written.get();
        }
    }
}
