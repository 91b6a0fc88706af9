package dev.tandem.launch.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Watches a trial's metrics and checkpoints from a thread of its own and, once the job has
 * trained past the chosen step, sends the fault's signal to the chosen rank's process. It keeps
 * watching afterwards, noting each step the metrics reach, so the trial can tell when training
 * resumed after the restart.
 */
final class Injector extends Thread {
    private static final long POLL_MS = 20;
    private final Fault fault;
    private final int rank;
    private final long atStep;
    private final Path runDir;
    private final Path checkpointRoot;
    private final List<long[]> seen = new ArrayList<>(); // {nanoTime, last step in the metrics}
    private volatile boolean watching = true;
    private volatile long injectedAt;
    private volatile long injectedStep;

    Injector(Fault fault, int rank, long atStep, Path runDir, Path checkpointRoot) {
        super("chaos-injector");
        setDaemon(true);
        this.fault = fault;
        this.rank = rank;
        this.atStep = atStep;
        this.runDir = runDir;
        this.checkpointRoot = checkpointRoot;
    }

    @Override
    public void run() {
        try {
            while (watching) {
                long step = lastStep();
                synchronized (seen) {
                    if (seen.isEmpty() || seen.getLast()[1] != step) seen.add(new long[] {System.nanoTime(), step});
                }
                if (injectedAt == 0 && step >= atStep && ready()) inject(step);
                Thread.sleep(POLL_MS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A kill during a save waits until a checkpoint is being written: a step directory without its manifest yet. */
    private boolean ready() throws IOException {
        if (fault != Fault.KILL_DURING_SAVE) return true;
        if (!Files.isDirectory(checkpointRoot)) return false;
        try (Stream<Path> dirs = Files.list(checkpointRoot)) {
            return dirs.anyMatch(d -> d.getFileName().toString().startsWith("step-") && !Files.exists(d.resolve("manifest.json")));
        }
    }

    private void inject(long step) throws IOException {
        Optional<ProcessHandle> p = rankProcess(rank);
        if (p.isEmpty()) return; // between attempts: try at the next poll
        if (fault == Fault.STOP) {
            signal(p.get().pid(), "STOP");
        } else {
            p.get().destroyForcibly();
        }
        injectedStep = step;
        injectedAt = System.nanoTime();
    }

    void stopWatching() {
        watching = false;
        interrupt();
        try {
            join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** When the fault went in (System.nanoTime), or 0 if it never did. */
    long injectedAt() {
        return injectedAt;
    }

    long injectedStep() {
        return injectedStep;
    }

    /**
     * When the metrics first showed a step past {@code resumedFrom} after the restart at {@code
     * restartAt}: the resumed run first cuts the metrics back to that step, then appends.
     */
    long firstStepAfterRestart(long restartAt, long resumedFrom) {
        boolean cut = false;
        synchronized (seen) {
            for (long[] s : seen) {
                if (s[0] < restartAt) {
                    cut = s[1] <= resumedFrom; // no step lost: the metrics already end where the resumed run starts
                    continue;
                }
                if (s[1] <= resumedFrom) cut = true;
                else if (cut) return s[0];
            }
        }
        return -1;
    }

    private long lastStep() throws IOException {
        long last = 0;
        for (JsonNode n : ChaosTrial.records(runDir)) last = Math.max(last, n.path("step").asLong());
        return last;
    }

    /** The rank process among this process's children: the one whose environment says RANK={@code rank}. */
    static Optional<ProcessHandle> rankProcess(int rank) {
        return ProcessHandle.current().children().filter(p -> hasRank(p.pid(), rank)).findFirst();
    }

    private static boolean hasRank(long pid, int rank) {
        try {
            String env = Files.readString(Path.of("/proc/" + pid + "/environ"));
            for (String kv : env.split("\0")) if (kv.equals("RANK=" + rank)) return true;
        } catch (IOException e) {
            // gone, or not ours to read
        }
        return false;
    }

    private static void signal(long pid, String sig) throws IOException {
        try {
            new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start().waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
