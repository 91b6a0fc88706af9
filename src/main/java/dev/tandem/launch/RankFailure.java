package dev.tandem.launch;

import dev.tandem.comm.PeerFailureException;

/**
 * How a job ended when one of its ranks failed: the rank the launcher blames, its exit code, and
 * whether it never exited by itself (hung or stopped, so the launcher killed it).
 */
public record RankFailure(int rank, int exitCode, boolean hung) {
    private static final int SIGINT = 128 + 2, SIGTERM = 128 + 15;

    /**
     * Whether the failure looks like a fault that a restart from the newest checkpoint may get past: a
     * rank that hung, crashed on a signal other than an interrupt, or stopped because it lost its
     * peers. A rank that exits with an error code of its own (a bad setting, a full disk, a bug)
     * would fail the same way again, and a user's Ctrl-C or SIGTERM is meant to stop the job.
     */
    public boolean restartable() {
        if (hung) return true;
        if (exitCode == PeerFailureException.EXIT_CODE) return true;
        return exitCode > 128 && exitCode < 160 && exitCode != SIGINT && exitCode != SIGTERM;
    }

    /** "rank 1 was killed by signal 9 (SIGKILL, exit code 137)", "rank 1 hung". */
    public String describe() {
        return hung ? "rank " + rank + " stopped responding and was killed by the launcher"
                : "rank " + rank + " " + Launcher.describeExit(exitCode);
    }
}
