package dev.tandem.train;

import dev.tandem.comm.OpLog;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.health.LinkClassifier;
import dev.tandem.comm.health.LinkClassifier.LinkFault;
import dev.tandem.comm.health.LinkProbe;
import dev.tandem.comm.health.SlowRankDetector;
import dev.tandem.comm.health.SlowRankDetector.SlowRank;
import dev.tandem.tensor.DType;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Fail-slow detection while a job trains: after each step every rank of an island shares two
 * numbers — its wall time over the previous step and the time it spent inside collectives then
 * (from its op log) — in one all-gather of 8 bytes per rank, and every rank feeds them to the same
 * {@link SlowRankDetector}. The numbers describe the step before, so that each window ends at the
 * end of an exchange and includes the waiting inside it. Every {@code probeEvery} steps the ranks
 * also time every connection ({@link LinkProbe}) and classify slow links and endpoints against the
 * fastest connection of each kind and each connection's best earlier round trip. Rank 0 prints
 * when a rank is flagged and when it recovers, and each probe's findings; all go into the step metrics.
 */
final class HealthWatch implements AutoCloseable {
    private final ProcessGroup group;
    private final OpLog log;
    private final SlowRankDetector detector;
    private final PrintStream out;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment mine;
    private final MemorySegment all;
    private long windowStart = System.nanoTime();
    private long inOpsAtStart;
    private float lastWindowMs = Float.NaN;
    private float lastInOpsMs = Float.NaN;
    private List<SlowRank> flagged = List.of();
    private final int probeEvery;
    private final LinkProbe probe = new LinkProbe(16384, 5);
    private double[][] bestPairs;

    /**
     * @param island    the ranks compared (one island: islands train apart)
     * @param stageSize ranks per pipeline stage (dp·tp): ranks {@code [s·stageSize, (s+1)·stageSize)} of the island do the same work
     * @param probeEvery steps between link probes (0: none)
     * @param out       where rank 0 reports flags (other ranks pass a silent stream)
     */
    HealthWatch(ProcessGroup island, OpLog log, int stageSize, int probeEvery, PrintStream out) {
        this.group = island;
        this.probeEvery = probeEvery;
        this.log = log;
        this.out = out;
        int[] stageOf = new int[island.size()];
        for (int r = 0; r < stageOf.length; r++) stageOf[r] = r / stageSize;
        this.detector = SlowRankDetector.withDefaults(stageOf);
        this.mine = arena.allocate(8, 4);
        this.all = arena.allocate(8L * island.size(), 4);
        this.inOpsAtStart = log.nanosInOps();
    }

    /**
     * Exchanges the last step's timings and returns them with the ranks flagged slow now (world
     * ranks), or null at the first step, which has no step before it; every rank of the island calls it.
     */
    StepHealth afterStep(long step) {
        mine.set(ValueLayout.JAVA_FLOAT, 0, lastWindowMs);
        mine.set(ValueLayout.JAVA_FLOAT, 4, lastInOpsMs);
        group.allGather(mine, all, DType.F32, 2);
        long now = System.nanoTime(), inOps = log.nanosInOps();
        lastWindowMs = (float) ((now - windowStart) / 1e6);
        lastInOpsMs = (float) ((inOps - inOpsAtStart) / 1e6);
        windowStart = now;
        inOpsAtStart = inOps;
        int n = group.size();
        double[] windowMs = new double[n], inOpsMs = new double[n];
        for (int r = 0; r < n; r++) {
            windowMs[r] = all.get(ValueLayout.JAVA_FLOAT, 8L * r);
            inOpsMs[r] = all.get(ValueLayout.JAVA_FLOAT, 8L * r + 4);
        }
        if (Double.isNaN(windowMs[0])) return null; // the first exchange carries no step yet
        List<SlowRank> slow = new ArrayList<>();
        for (SlowRank s : detector.observe(step - 1, windowMs, inOpsMs)) {
            slow.add(new SlowRank(group.worldRank(s.rank()), s.slowdown(), s.extraMs(), s.sinceStep()));
        }
        report(step, slow);
        flagged = slow;
        List<LinkFault> links = probeEvery > 0 && step % probeEvery == 0 ? probeLinks() : null;
        return new StepHealth(step - 1, windowMs, inOpsMs, slow, links);
    }

    /** Times every connection, reports what is slow (world ranks) and remembers each pair's best round trip. */
    private List<LinkFault> probeLinks() {
        LinkProbe.Matrix m = probe.measure(group);
        List<LinkFault> found = new ArrayList<>();
        // Ranks that share cores wake up milliseconds late when the scheduler is busy: only slowdowns larger than that count.
        LinkClassifier classifier = new LinkClassifier(3, group.oversubscribed() ? 5 : 0.5);
        for (LinkFault f : classifier.classify(m.rttMs(), m.transport(), bestPairs)) {
            LinkFault w = new LinkFault(f.kind(), group.worldRank(f.a()), f.b() < 0 ? -1 : group.worldRank(f.b()), f.rttMs(), f.ratio());
            out.println("health: " + w.describe());
            found.add(w);
        }
        double[][] pairs = LinkClassifier.pairs(m.rttMs());
        if (bestPairs == null) bestPairs = pairs;
        for (int i = 0; i < pairs.length; i++) for (int j = 0; j < pairs.length; j++) bestPairs[i][j] = Math.min(bestPairs[i][j], pairs[i][j]);
        return found;
    }

    private void report(long step, List<SlowRank> now) {
        for (SlowRank s : now) {
            if (flagged.stream().noneMatch(f -> f.rank() == s.rank())) {
                out.printf(Locale.ROOT, "health: rank %d is slow: %.2fx the time of the ranks that do the same work, "
                        + "which waited %.1f ms per step for it (since step %d)%n", s.rank(), s.slowdown(), s.extraMs(), s.sinceStep());
            }
        }
        for (SlowRank f : flagged) {
            if (now.stream().noneMatch(s -> s.rank() == f.rank())) out.printf("health: rank %d is no longer slow (step %d)%n", f.rank(), step);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
