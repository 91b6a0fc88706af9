package dev.tandem.bench.peer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Counts the threads of this process that computed during an interval, from the CPU time the
 * kernel accounts to each ({@code /proc/self/task/<tid>/stat}, user + system clock ticks). This is
 * how the peer shows the thread counts it was asked for are the ones that ran, whatever the
 * libraries' own getters say.
 */
final class BusyThreads {
    /** A thread is busy when it ran at least this share of the interval. */
    private static final double BUSY_SHARE = 0.1;
    private static final double TICKS_PER_SECOND = 100; // USER_HZ, fixed at 100 on Linux

    private final Map<String, Long> ticksAtStart;
    private final long startNanos;

    private BusyThreads() {
        ticksAtStart = ticks();
        startNanos = System.nanoTime();
    }

    static BusyThreads start() {
        return new BusyThreads();
    }

    /** Threads that used at least a tenth of a core since {@link #start}; −1 where /proc cannot tell. */
    int count() {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        Map<String, Long> now = ticks();
        if (now.isEmpty()) return -1;
        int busy = 0;
        for (Map.Entry<String, Long> e : now.entrySet()) {
            long used = e.getValue() - ticksAtStart.getOrDefault(e.getKey(), 0L);
            if (used >= Math.max(1, BUSY_SHARE * seconds * TICKS_PER_SECOND)) busy++;
        }
        return busy;
    }

    private static Map<String, Long> ticks() {
        Map<String, Long> ticks = new HashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    // Fields after the command name (which may hold spaces) in parentheses: utime is the 12th, stime the 13th.
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks.put(task.getFileName().toString(), Long.parseLong(f[11]) + Long.parseLong(f[12]));
                } catch (IOException | RuntimeException gone) {
                    // the thread ended between the listing and the read
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        return ticks;
    }
}
