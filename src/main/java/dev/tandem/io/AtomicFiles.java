package dev.tandem.io;

import dev.tandem.TandemException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Writes files so that a reader sees the old content or the new one, never a part: the bytes go
 * to a temporary sibling, are forced to disk, and the temporary is renamed over the target. A
 * failure (a full disk, a crash) leaves the old file as it was and no temporary behind, and the
 * error names the file and, when the disk is full, how much room there was. Every file Tandem
 * writes outside the checkpoint shards goes through here.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** What writes the new content, into the temporary path it is given. */
    @FunctionalInterface
    public interface Body {
        void writeTo(Path tmp) throws IOException;
    }

    /** Replaces {@code file} with what {@code body} writes. */
    public static void write(Path file, Body body) {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            Files.createDirectories(dir);
            body.writeTo(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            syncDirectory(dir);
        } catch (IOException e) {
            throw failure(file, e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    public static void writeString(Path file, String text) {
        writeBytes(file, text.getBytes(StandardCharsets.UTF_8));
    }

    public static void writeBytes(Path file, byte[] bytes) {
        write(file, tmp -> Files.write(tmp, bytes));
    }

    /**
     * Replaces directory {@code dir} with the one {@code body} fills (given an empty temporary
     * directory beside it). Until the last rename the old directory is complete; if the process
     * dies between the two renames, the old one is left as {@code .<name>.old}.
     */
    public static void writeDirectory(Path dir, Body body) {
        Path parent = dir.toAbsolutePath().getParent();
        long pid = ProcessHandle.current().pid();
        Path tmp = parent.resolve("." + dir.getFileName() + "." + pid + ".tmp");
        Path old = parent.resolve("." + dir.getFileName() + ".old");
        try {
            deleteTree(tmp);
            Files.createDirectories(tmp);
            body.writeTo(tmp);
            deleteTree(old);
            if (Files.exists(dir)) Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(parent);
            deleteTree(old);
        } catch (IOException | TandemException e) { // the body's own atomic writes report the temporary's name: report the directory's
            throw failure(dir, e);
        } finally {
            try {
                deleteTree(tmp);
            } catch (IOException ignored) {
                // the failure above is the one to report
            }
        }
    }

    /**
     * The error for a failed write of {@code file}: its name, the cause, and on a full disk the
     * room left there and what to do.
     */
    public static TandemException failure(Path file, Exception e) {
        String why = e.getMessage() == null ? e.toString() : e.getMessage();
        if (isDiskFull(e)) {
            return new TandemException("cannot write " + file + ": no space left on the disk holding it (" + freeSpace(file)
                    + " free): free some space or write the run to another disk (--run.runs_dir), then resume from the newest checkpoint", e);
        }
        return new TandemException("cannot write " + file + ": " + why, e);
    }

    /** True for "No space left on device" and "Disk quota exceeded", however the JDK wrapped them. */
    public static boolean isDiskFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"))) return true;
        }
        return false;
    }

    /** "12.0 MiB", or "unknown" when the file system will not say. */
    static String freeSpace(Path file) {
        Path p = file.toAbsolutePath();
        while (p != null && !Files.exists(p)) p = p.getParent();
        if (p == null) return "unknown";
        try {
            FileStore store = Files.getFileStore(p);
            return String.format("%.1f MiB", store.getUsableSpace() / 1048576.0);
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Makes a rename durable: fsync the directory that holds the new name (a no-op where the OS refuses). */
    public static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Some file systems cannot open directories; the rename itself is still atomic.
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a temporary that cannot be removed is left for the next write of the same file to replace
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
