package dev.tandem.offload;

import dev.tandem.TandemException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * A file on local disk as a tier. The file is a working area, never a checkpoint: it is created
 * (or truncated) when the tier opens and deleted when it closes, so whatever a killed run left in
 * it is never read back; state comes from a checkpoint or starts at zero.
 *
 * <p>Two ways to move bytes, chosen by {@link Access}: {@link Access#MMAP} copies through a shared
 * mapping of the file and then drops the touched pages from this process's mapping ({@code
 * madvise(MADV_DONTNEED)}: the data stays in the page cache and the file), so the resident set
 * does not grow with the state; {@link Access#PREAD} uses positional reads and writes of the file
 * channel. {@code tandem bench offload} measures both. Checkpoints read the mapping either way.
 */
public final class FileTier implements Tier {
    /** How {@link #read} and {@link #write} move bytes. */
    public enum Access {
        MMAP, PREAD;

        public static Access named(String key, String v) {
            return switch (v.strip().toLowerCase(Locale.ROOT)) {
                case "mmap" -> MMAP;
                case "pread" -> PREAD;
                default -> throw new TandemException(key + " must be mmap or pread, got '" + v + "'");
            };
        }
    }

    private static final long PAGE = 4096;
    private static final int MADV_DONTNEED = 4;
    private static final MethodHandle MADVISE = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("madvise").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    private final Path file;
    private final FileChannel channel;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment mapping;
    private final Access access;
    private final TierSpec spec;
    private final Traffic traffic = new Traffic();

    /**
     * Creates {@code file} holding {@code bytes} zero bytes, and measures its bandwidth.
     */
    public FileTier(Path file, long bytes, Access access) {
        this.file = file;
        this.access = access;
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE);
            // A sparse file: reads of untouched ranges are zeros, as a fresh optimizer state must be.
            if (bytes > 0) channel.write(ByteBuffer.wrap(new byte[1]), bytes - 1);
            this.mapping = channel.map(FileChannel.MapMode.READ_WRITE, 0, Math.max(bytes, 1), arena).asSlice(0, bytes);
        } catch (IOException e) {
            throw new TandemException("cannot create the offload file " + file + ": " + e.getMessage()
                    + " (set memory.path to a writable directory on a local disk)", e);
        }
        double[] bw = Probe.bandwidth(bytes, (dst, at) -> read(at, dst), (src, at) -> write(at, src));
        this.spec = new TierSpec("file-" + access.name().toLowerCase(Locale.ROOT), bytes, bw[0], bw[1], 0);
        traffic.reset(); // the probe's bytes are not training's
    }

    @Override
    public TierSpec spec() {
        return spec;
    }

    public Path file() {
        return file;
    }

    @Override
    public void read(long offset, MemorySegment dst) {
        if (access == Access.MMAP) {
            MemorySegment.copy(mapping, offset, dst, 0, dst.byteSize());
            release(offset, dst.byteSize());
        } else {
            ByteBuffer b = dst.asByteBuffer();
            try {
                while (b.hasRemaining()) {
                    if (channel.read(b, offset + b.position()) < 0) throw new IOException("end of file at " + (offset + b.position()));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading the offload file " + file, e);
            }
        }
        traffic.countRead(dst.byteSize());
    }

    @Override
    public void write(long offset, MemorySegment src) {
        if (access == Access.MMAP) {
            MemorySegment.copy(src, 0, mapping, offset, src.byteSize());
            release(offset, src.byteSize());
        } else {
            ByteBuffer b = src.asByteBuffer();
            try {
                while (b.hasRemaining()) channel.write(b, offset + b.position());
            } catch (IOException e) {
                throw new UncheckedIOException("writing the offload file " + file, e);
            }
        }
        traffic.countWritten(src.byteSize());
    }

    /** Drops the whole pages inside {@code [offset, offset + bytes)} from this process's mapping (not from the file). */
    private void release(long offset, long bytes) {
        long from = (offset + PAGE - 1) / PAGE * PAGE, to = (offset + bytes) / PAGE * PAGE;
        if (to <= from) return;
        try {
            int ignored = (int) MADVISE.invokeExact(mapping.asSlice(from, to - from), to - from, MADV_DONTNEED);
        } catch (Throwable t) {
            throw new IllegalStateException("madvise failed", t);
        }
    }

    /** Drops every page of the mapping from the resident set (after a checkpoint read the whole state through it). */
    public void releaseAll() {
        release(0, mapping.byteSize());
    }

    @Override
    public MemorySegment view(long offset, long bytes) {
        return mapping.asSlice(offset, bytes);
    }

    @Override
    public Traffic traffic() {
        return traffic;
    }

    @Override
    public void close() {
        arena.close();
        try {
            channel.close();
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("closing the offload file " + file, e);
        }
    }
}
