package dev.tandem.comm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A memory-mapped file shared by two processes on one host (under /dev/shm, i.e. RAM). The
 * receiving rank creates it, the sending rank maps it, then the creator unlinks the name so
 * nothing is left behind even if a rank is killed; the memory lives while either side maps it.
 */
final class ShmFile implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;
    private final Path path;

    private ShmFile(Path path, long bytes, boolean create) throws IOException {
        this.path = path;
        StandardOpenOption[] opts = create
                ? new StandardOpenOption[] {StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE}
                : new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
        try (FileChannel ch = FileChannel.open(path, opts)) {
            if (create) ch.truncate(0).write(java.nio.ByteBuffer.wrap(new byte[1]), bytes - 1);
            if (ch.size() != bytes) throw new IOException(path + " has " + ch.size() + " bytes, expected " + bytes);
            this.segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    static ShmFile create(Path path, long bytes) {
        try {
            return new ShmFile(path, bytes, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create shared-memory file " + path + ": " + e.getMessage(), e);
        }
    }

    static ShmFile open(Path path, long bytes) {
        try {
            return new ShmFile(path, bytes, false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map shared-memory file " + path + ": " + e.getMessage(), e);
        }
    }

    /** Default folder: /dev/shm (RAM-backed) when writable, else the temp folder; TANDEM_SHM_DIR overrides. */
    static Path directory() {
        String env = System.getenv("TANDEM_SHM_DIR");
        if (env != null && !env.isBlank()) return Path.of(env);
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    MemorySegment segment() {
        return segment;
    }

    void unlink() {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // best effort: the mapping stays valid either way
        }
    }

    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
