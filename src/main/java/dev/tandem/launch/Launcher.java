package dev.tandem.launch;

import dev.tandem.TandemException;
import dev.tandem.comm.PeerFailureException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Starts N rank JVMs on this host, the way torchrun does: same java binary, flags and class
 * path as this process; rendezvous through environment variables (MASTER_ADDR=127.0.0.1, a free
 * MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE) and a fresh random
 * TANDEM_JOB_SECRET. Each output line is prefixed with {@code [rank i]}.
 *
 * <p>If a rank exits abnormally, the others get {@link #grace} to notice and report it
 * themselves, then SIGTERM, then after another grace SIGKILL; the launcher then fails with a
 * message naming the first rank that failed and how. SIGINT/SIGTERM to the launcher reach the
 * children through a shutdown hook.
 */
public final class Launcher {
    private final PrintStream out;
    private final PrintStream err;
    private final Duration grace;

    public Launcher(PrintStream out, PrintStream err, Duration grace) {
        this.out = out;
        this.err = err;
        this.grace = grace;
    }

    /** The environment {@code base} with {@code more} added (its values win). */
    public static Map<String, String> env(Map<String, String> base, Map<String, String> more) {
        Map<String, String> all = new java.util.HashMap<>(base);
        all.putAll(more);
        return all;
    }

    /**
     * Runs {@code tandem train} with {@code config} as {@code --key value} overrides on {@code nproc}
     * rank processes, their output captured (for benchmarks that run the trainer); returns that
     * output. A failure names the run and ends with the ranks' last lines.
     */
    public static String runTrainQuietly(String name, int nproc, Map<String, String> config) {
        List<String> args = new ArrayList<>(List.of("train"));
        config.forEach((k, v) -> args.addAll(List.of("--" + k, v)));
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        PrintStream quiet = new PrintStream(log, true);
        try {
            new Launcher(quiet, quiet, Duration.ofSeconds(2)).launch(nproc, args, Map.of());
        } catch (RuntimeException e) {
            List<String> lines = log.toString().lines().filter(l -> !l.contains("WARNING")).toList();
            String tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
            throw new TandemException(name + " failed: " + e.getMessage() + "\n" + tail, e);
        }
        return log.toString();
    }

    /**
     * As {@link #run}, with extra environment variables for the children (e.g. timeouts).
     *
     * @throws LaunchFailedException (exit code 1) naming the first rank that failed
     */
    public void launch(int nproc, List<String> childArgs, Map<String, String> extraEnv) {
        if (nproc < 1) throw new TandemException("--nproc must be >= 1, not " + nproc);
        List<String> cmd = JavaCommand.forCli(childArgs);
        String secret = HexFormat.of().formatHex(randomBytes());
        int port = freePort();
        Process[] procs = new Process[nproc];
        List<Thread> pumps = new ArrayList<>();
        Thread hook = new Thread(() -> stopAll(procs), "tandem-launcher-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        BlockingQueue<Integer> exits = new LinkedBlockingQueue<>();
        try {
            for (int r = 0; r < nproc; r++) {
                ProcessBuilder pb = new ProcessBuilder(cmd);
                Map<String, String> env = pb.environment();
                env.putAll(extraEnv);
                env.put("MASTER_ADDR", Rendezvous.DEFAULT_MASTER_ADDR);
                env.put("MASTER_PORT", Integer.toString(port));
                env.put("RANK", Integer.toString(r));
                env.put("WORLD_SIZE", Integer.toString(nproc));
                env.put("LOCAL_RANK", Integer.toString(r));
                env.put("LOCAL_WORLD_SIZE", Integer.toString(nproc));
                env.put("TANDEM_JOB_SECRET", secret);
                env.put(LauncherWatch.LAUNCHER_PID, Long.toString(ProcessHandle.current().pid()));
                try {
                    procs[r] = pb.start();
                } catch (IOException e) {
                    throw new TandemException("cannot start rank " + r + " (" + cmd.getFirst() + "): " + e.getMessage());
                }
                int rank = r;
                reportExit(procs[r], rank, exits);
                pumps.add(pump(procs[r].getInputStream(), out, r));
                pumps.add(pump(procs[r].getErrorStream(), err, r));
            }
            boolean[] stopped = new boolean[nproc];
            int failed = supervise(procs, exits, stopped);
            for (Thread t : pumps) t.join(5000);
            if (failed >= 0) {
                throw new LaunchFailedException(blame(failed, procs, stopped),
                        new RankFailure(failed, procs[failed].exitValue(), stopped[failed]));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopAll(procs);
            throw new TandemException("interrupted; stopped all ranks", e, 1);
        } finally {
            stopAll(procs);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down and the hook runs anyway
            }
        }
    }

    /**
     * Puts {@code rank} into {@code exits} when its process ends. A thread of its own waits, not
     * {@code onExit()}, whose completion runs in the common fork-join pool: a caller that runs the
     * launcher inside that pool (a test, an application's async task) would otherwise never hear
     * of the exit.
     */
    private static void reportExit(Process p, int rank, BlockingQueue<Integer> exits) {
        Thread.ofPlatform().daemon().name("rank" + rank + "-exit").start(() -> {
            while (true) {
                try {
                    p.waitFor();
                    break;
                } catch (InterruptedException e) {
                    // nobody interrupts it on purpose; keep waiting for the exit
                }
            }
            exits.add(rank);
        });
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return b;
    }

    /**
     * Waits for all ranks; returns the first rank that failed by itself (preferred to one that
     * exited with {@link PeerFailureException#EXIT_CODE}), or -1. Escalates once one has failed.
     */
    int supervise(Process[] procs, BlockingQueue<Integer> exits, boolean[] stopped) throws InterruptedException {
        int alive = procs.length;
        int failed = -1;
        int stage = 0; // 0: all fine, 1: waiting for grace before SIGTERM, 2: before SIGKILL
        long actAt = 0;
        while (alive > 0) {
            Integer r;
            if (stage == 0) {
                r = exits.take();
            } else {
                r = exits.poll(Math.max(0, actAt - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
            if (r != null) {
                alive--;
                int code = procs[r].exitValue();
                if (code != 0 && failed < 0) {
                    failed = r;
                    stage = 1;
                    actAt = System.nanoTime() + grace.toNanos();
                } else if (code != 0 && code != PeerFailureException.EXIT_CODE
                        && procs[failed].exitValue() == PeerFailureException.EXIT_CODE) {
                    // The exits of a failed rank and of the peers that noticed it can be reaped in either
                    // order: name the rank that failed, not one that stopped because it was gone.
                    failed = r;
                }
                continue;
            }
            for (int i = 0; i < procs.length; i++) {
                if (!procs[i].isAlive()) continue;
                stopped[i] = true;
                if (stage == 1) procs[i].destroy();
                else procs[i].destroyForcibly();
            }
            stage = 2;
            actAt = System.nanoTime() + grace.toNanos();
        }
        return failed;
    }

    /**
     * Names the rank that failed. A rank that never exited by itself while the others stopped
     * because they lost it (a hung or stopped process) was killed by this launcher: its exit code
     * is ours, so the message says what happened instead.
     */
    static String blame(int failed, Process[] procs, boolean[] stopped) {
        if (stopped[failed]) {
            return "rank " + failed + " stopped responding (the other ranks lost it and stopped) and did not exit, so the launcher "
                    + "killed it; if it hung, its last lines above show where";
        }
        return "rank " + failed + " " + describeExit(procs[failed].exitValue()) + "; stopped the other ranks";
    }

    private void stopAll(Process[] procs) {
        boolean any = false;
        for (Process p : procs) {
            if (p != null && p.isAlive()) {
                p.destroy();
                any = true;
            }
        }
        if (!any) return;
        long until = System.nanoTime() + grace.toNanos();
        for (Process p : procs) {
            if (p == null) continue;
            try {
                if (!p.waitFor(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }
    }

    /** What each rank's JVM prints on start because the Vector API is an incubator module. */
    static final String INCUBATOR_WARNING = "WARNING: Using incubator modules: jdk.incubator.vector";

    private Thread pump(InputStream in, PrintStream to, int rank) {
        Thread t = Thread.ofPlatform().daemon().name("rank" + rank + "-output").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals(INCUBATOR_WARNING)) continue; // every JVM prints it; expected, and not for users
                    synchronized (to) {
                        to.println("[rank " + rank + "] " + line);
                    }
                }
            } catch (IOException ignored) {
                // the child is gone; its remaining output is lost
            }
        });
        return t;
    }

    /** "exited with code 3", "was killed by signal 9 (SIGKILL)". */
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

    /** A port that was free a moment ago on loopback (the children bind it soon after). */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on loopback", e);
        }
    }
}
