package dev.tandem.train;

import dev.tandem.TandemException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * An exclusive lock on a run directory, held by the run's rank 0 for as long as it trains. Two
 * runs with the same name would otherwise interleave their metrics, overwrite each other's config
 * and race on checkpoint renames. The lock is the operating system's (released when the process
 * ends, however it ends), so a crashed run never leaves a stale lock; the file only says who held
 * it last, for the message.
 */
public final class RunLock implements AutoCloseable {
    static final String FILE = ".lock";

    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock on {@code runDir} (created if missing), or says which run holds it and what to do. */
    public static RunLock acquire(Path runDir) {
        Path file = runDir.resolve(FILE);
        FileChannel ch = null;
        try {
            Files.createDirectories(runDir);
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by this same process (an API user training twice at once)
            }
            if (lock == null) {
                String holder = Files.readString(file, StandardCharsets.UTF_8).trim();
                ch.close();
                throw new TandemException("run directory " + runDir + " is in use by another run"
                        + (holder.isEmpty() ? "" : " (" + holder + ")")
                        + ": wait for it to finish, or give this run another name (--run.name)");
            }
            String me = "pid " + ProcessHandle.current().pid() + ", started " + Instant.now();
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(me.getBytes(StandardCharsets.UTF_8)), 0);
            return new RunLock(ch, lock);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new TandemException("cannot lock run directory " + runDir + " (" + file + "): " + e.getMessage(), e);
        }
    }

    /**
     * Checks that no run holds {@code runDir} now, without keeping the lock: the launcher asks
     * before it starts any rank, so a second run fails at once instead of once per rank.
     */
    public static void requireFree(Path runDir) {
        if (!Files.isDirectory(runDir)) return;
        try (RunLock ignored = acquire(runDir)) {
            // free
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // the channel's close below releases it too
        }
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing is written through it that matters
        }
    }
}
