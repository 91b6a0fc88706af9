package dev.tandem.launch;

import java.io.PrintStream;
import java.util.Map;
import java.util.Optional;

/**
 * Ends a rank when the launcher that started it ends. A launcher that is killed outright (SIGKILL,
 * an out-of-memory kill, a closed terminal) runs no shutdown hook, so it cannot stop its ranks;
 * without this they would train on with nobody reading their output or their exit status. Linux's
 * parent-death signal is not used because it follows the forking thread, not the process.
 *
 * <p>The launcher passes its process id in {@value #LAUNCHER_PID}; whoever else starts ranks (a
 * cluster agent) may set it too.
 */
public final class LauncherWatch {
    /** The environment variable holding the launcher's process id. */
    public static final String LAUNCHER_PID = "TANDEM_LAUNCHER_PID";

    /** Exit code of a rank that stops because its launcher is gone. */
    public static final int EXIT_CODE = 4;

    private LauncherWatch() {}

    /** Starts watching the launcher named in {@code env}, if any; returns whether one is watched. */
    public static boolean start(Map<String, String> env, PrintStream err) {
        String v = env.get(LAUNCHER_PID);
        if (v == null || v.isBlank()) return false;
        long pid;
        try {
            pid = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new dev.tandem.TandemException(LAUNCHER_PID + "='" + v + "' is not a process id; unset it or give the launcher's pid");
        }
        Optional<ProcessHandle> launcher = ProcessHandle.of(pid);
        if (launcher.isEmpty() || !launcher.get().isAlive()) {
            stop(err, pid);
            return true;
        }
        launcher.get().onExit().thenRun(() -> stop(err, pid));
        return true;
    }

    private static void stop(PrintStream err, long pid) {
        err.println("tandem: the launcher (pid " + pid + ") is gone; this rank stops (resume from the newest checkpoint)");
        err.flush();
        // exit() runs the shutdown hooks (shared-memory files removed); halt() if one of them hangs.
        Thread.ofPlatform().daemon().start(() -> {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException ignored) {
                // halting anyway
            }
            Runtime.getRuntime().halt(EXIT_CODE);
        });
        Thread.ofPlatform().start(() -> System.exit(EXIT_CODE));
    }
}
