package dev.tandem.train.config;

import dev.tandem.TandemException;

/**
 * {@code [run]}: how long, where the files go, and the machine-level settings of one run.
 *
 * @param name        the run's folder under {@code runs_dir}
 * @param steps       optimizer steps of the whole run (the learning-rate schedule spans them)
 * @param stopAfter   stop this invocation after this many steps (0: run all); resume to continue
 * @param seed        the seed of the initialization and of the batch order
 * @param threads     compute threads per rank (0: the cores, shared among the ranks on this host)
 * @param logEvery    steps between progress lines
 * @param tensorboard write TensorBoard event files to {@code <runs_dir>/<name>/tb/} (rank 0)
 * @param maxRestarts how many times the launcher restarts the job from its newest checkpoint after a
 *                    rank crashes, hangs or loses a peer (0: never; docs/FAULTS.md)
 * @param linkProbeEvery steps between probes of every connection's round trip, which tell a slow link
 *                    from a slow endpoint (0: never; docs/FAULTS.md)
 * @param elastic     a restart goes on with one data-parallel replica fewer (the failed one's place
 *                    given up), resharding the checkpoint (docs/FAULTS.md)
 * @param evictSlowAfter leave a rank out (an elastic restart without it) once it has been flagged
 *                    fail-slow for this many steps in a row (0: only report it; docs/FAULTS.md)
 */
public record RunSection(String name, String runsDir, int steps, int stopAfter, long seed, int threads, int logEvery,
                         boolean tensorboard, int maxRestarts, int linkProbeEvery, boolean elastic,
                         int evictSlowAfter) {
    public RunSection {
        if (name == null || !name.matches("[A-Za-z0-9._-]+")) {
            throw new TandemException("run.name must be letters, digits, '.', '_' or '-', got '" + name + "'");
        }
        Sections.nonBlank("run.runs_dir", runsDir);
        Sections.positive("run.steps", steps);
        if (stopAfter < 0) throw new TandemException("run.stop_after must be >= 0 (0 = run all steps), got " + stopAfter);
        if (threads < 0) throw new TandemException("run.threads must be >= 0 (0 = all cores), got " + threads);
        Sections.positive("run.log_every", logEvery);
        if (maxRestarts < 0) throw new TandemException("run.max_restarts must be >= 0 (0 = never restart), got " + maxRestarts);
        if (linkProbeEvery < 0) throw new TandemException("run.link_probe_every must be >= 0 (0 = never probe), got " + linkProbeEvery);
        if (evictSlowAfter < 0) {
            throw new TandemException("run.evict_slow_after must be >= 0 (steps a rank stays flagged slow before it is left out; "
                    + "0 = never), got " + evictSlowAfter);
        }
        if (evictSlowAfter > 0 && !elastic) {
            throw new TandemException("run.evict_slow_after = " + evictSlowAfter + " leaves a slow rank out by restarting the job "
                    + "without it: set run.elastic = true (with run.max_restarts and checkpoints), or run.evict_slow_after = 0");
        }
    }

    /** Optimizer steps this invocation runs to: {@code steps}, or {@code stop_after} when that is sooner. */
    public int lastStep() {
        return stopAfter > 0 ? Math.min(steps, stopAfter) : steps;
    }
}
