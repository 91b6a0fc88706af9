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
 * A memory-mapped file shared by ranks on one host (under /dev/shm, i.e. RAM): a ring between two
 * of them, or a group's {@link Board}. One rank creates it, the others map it, then the creator
 * unlinks the name so nothing is left behind even if a rank is killed; the memory lives while
 * any rank maps it.
 */
final class ShmFile implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;
    private final Path path;

    /** How the file comes to be: mapped as it is, created sparse, or created with all its memory written once. */
    private enum Mode { OPEN, CREATE, CREATE_RESERVED }

    private ShmFile(Path path, long bytes, Mode mode) throws IOException {
        this.path = path;
        StandardOpenOption[] opts = mode != Mode.OPEN
                ? new StandardOpenOption[] {StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE}
                : new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
        try (FileChannel ch = FileChannel.open(path, opts)) {
            if (mode == Mode.CREATE) ch.truncate(0).write(java.nio.ByteBuffer.wrap(new byte[1]), bytes - 1);
            if (mode == Mode.CREATE_RESERVED) {
                // Writing every page now makes a full file system fail here, with an error, instead of
                // as a bus error when a page of the mapping is first touched.
                java.nio.ByteBuffer zeros = java.nio.ByteBuffer.allocate(1 << 20);
                for (long at = 0; at < bytes; at += zeros.capacity()) {
                    zeros.clear().limit((int) Math.min(zeros.capacity(), bytes - at));
                    while (zeros.hasRemaining()) ch.write(zeros, at + zeros.position());
                }
            }
            if (ch.size() != bytes) throw new IOException(path + " has " + ch.size() + " bytes, expected " + bytes);
            this.segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            if (mode != Mode.OPEN && !(e instanceof java.nio.file.FileAlreadyExistsException)) Files.deleteIfExists(path);
            throw e;
        }
    }

    static ShmFile create(Path path, long bytes) {
        try {
            return new ShmFile(path, bytes, Mode.CREATE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create shared-memory file " + path + ": " + e.getMessage(), e);
        }
    }

    /** Like {@link #create}, with every page written once, so a full file system is an error here rather than a crash later. */
    static ShmFile createReserved(Path path, long bytes) {
        try {
            return new ShmFile(path, bytes, Mode.CREATE_RESERVED);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create shared-memory file " + path + ": " + e.getMessage(), e);
        }
    }

    static ShmFile open(Path path, long bytes) {
        try {
            return new ShmFile(path, bytes, Mode.OPEN);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map shared-memory file " + path + ": " + e.getMessage(), e);
        }
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
