package dev.tandem.spark;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The rank JVMs of one barrier task: started with the torchrun-style environment, each output
 * line passed on with a {@code [rank i]} prefix, watched until all have exited. When one fails, the
 * others get a grace period to notice and exit by themselves (a peer that loses a rank reports it
 * and stops), then they are stopped, and the task fails naming the rank and how it ended. When
 * Spark kills the task (another task of the barrier stage failed), the ranks are stopped too.
 */
final class RankProcesses implements AutoCloseable {
    private static final long GRACE_MS = 5000;
    /** What every rank JVM prints on start because the Vector API is an incubator module: expected, not for users. */
    private static final String INCUBATOR_WARNING = "WARNING: Using incubator modules: jdk.incubator.vector";

    private final List<Process> procs = new ArrayList<>();
    private final List<Integer> ranks = new ArrayList<>();
    private final List<Thread> pumps = new ArrayList<>();

    /** Starts rank {@code rank} as {@code pb} with {@code env} added; its output goes to {@code out}/{@code err}. */
    void start(int rank, ProcessBuilder pb, Map<String, String> env, PrintStream out, PrintStream err) {
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            procs.add(p);
            ranks.add(rank);
            pumps.add(pump(p.getInputStream(), out, rank));
            pumps.add(pump(p.getErrorStream(), err, rank));
        } catch (IOException e) {
            throw new TandemSparkException("cannot start rank " + rank + " (" + pb.command().get(0) + "): " + e.getMessage(), e);
        }
    }

    /**
     * Waits until every rank has exited; throws when one failed (after stopping the rest) or when
     * {@code killed} says Spark wants the task gone.
     */
    void await(BooleanSupplier killed, String host) throws InterruptedException {
        int failed = -1;
        long stopAt = Long.MAX_VALUE;
        while (true) {
            boolean alive = false;
            for (int i = 0; i < procs.size(); i++) {
                Process p = procs.get(i);
                if (p.isAlive()) {
                    alive = true;
                } else if (p.exitValue() != 0 && failed < 0) {
                    failed = i;
                    stopAt = System.currentTimeMillis() + GRACE_MS;
                }
            }
            if (!alive) break;
            if (killed.getAsBoolean()) {
                close();
                throw new TandemSparkException("Spark stopped this barrier task (another task of the stage failed); stopped its ranks " + ranks);
            }
            if (System.currentTimeMillis() >= stopAt) {
                close();
                break;
            }
            Thread.sleep(100);
        }
        for (Thread t : pumps) t.join(5000);
        if (failed >= 0) {
            throw new TandemSparkException("rank " + ranks.get(failed) + " on " + host + " " + describeExit(procs.get(failed).exitValue())
                    + "; stopped this task's other ranks, so the barrier stage fails and Spark retries it from the newest checkpoint");
        }
        System.out.println("tandem-spark: rank(s) " + ranks + " on " + host + " finished (exit code 0)");
    }

    /** Stops every rank still running: SIGTERM, then SIGKILL after the grace period. */
    @Override
    public void close() {
        for (Process p : procs) if (p.isAlive()) p.destroy();
        long until = System.currentTimeMillis() + GRACE_MS;
        for (Process p : procs) {
            try {
                if (!p.waitFor(Math.max(0, until - System.currentTimeMillis()), TimeUnit.MILLISECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Thread pump(InputStream in, PrintStream to, int rank) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals(INCUBATOR_WARNING)) continue;
                    synchronized (to) {
                        to.println("[rank " + rank + "] " + line);
                    }
                }
            } catch (IOException ignored) {
                // the rank is gone; the rest of its output with it
            }
        }, "tandem-rank" + rank + "-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * "exited with code 3", "was killed by signal 9 (SIGKILL, exit code 137)": the words of the
     * core's launcher (Launcher.describeExit), repeated because this module runs on the Java that
     * Spark runs on and cannot load the core's Java 25 classes.
     */
    static String describeExit(int code) {
        if (code > 128 && code < 160) {
            int sig = code - 128;
            String name = switch (sig) {
                case 1 -> "SIGHUP";
                case 2 -> "SIGINT";
                case 6 -> "SIGABRT";
                case 9 -> "SIGKILL";
                case 11 -> "SIGSEGV";
                case 15 -> "SIGTERM";
                default -> "signal " + sig;
            };
            return "was killed by signal " + sig + " (" + name + ", exit code " + code + ")";
        }
        return "exited with code " + code;
    }
}
