package dev.tandem.comm.health;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Finds fail-slow ranks (C4's "non-communication slow"): a rank that is consistently the last to
 * arrive at its step's collectives, by a margin that chance does not explain.
 *
 * <p>A collective ends only once every member has arrived, so the members that arrive early wait
 * inside it and the last one does not: per step, the rank that spent the least time inside
 * collectives is the one the others waited for, and its lead (the others' median time inside
 * collectives minus its own) is how long they waited. Only ranks that do the same work are
 * compared — the ranks of one pipeline stage (data-parallel replicas and tensor-parallel peers).
 *
 * <p>A rank is flagged when, over the last {@code window} steps, it was last (with a lead of at
 * least {@code minLeadFraction} of the others' busy time) so often that a fair draw among the
 * stage's ranks would do so with probability below {@code alpha} (a one-sided binomial test). A
 * rank that is last only now and then — noise, a one-off checkpoint, a garbage collection — is
 * not. It stays flagged, with the step its evidence started, until the test no longer holds.
 *
 * <p>Fed with each step's timings of every rank of the group; pure computation, no communication.
 */
public final class SlowRankDetector {
    /**
     * A rank flagged slow.
     *
     * @param rank      the rank (as the caller numbers the ranks it passed in)
     * @param slowdown  its time outside collectives over its stage peers' (median over the steps it was last)
     * @param extraMs   how long its peers waited for it per step (median lead over those steps)
     * @param sinceStep the first step of the evidence that flagged it
     */
    public record SlowRank(int rank, double slowdown, double extraMs, long sinceStep) {}

    private final int window;
    private final double alpha;
    private final double minLeadFraction;
    private final List<Stage> stages = new ArrayList<>();

    /**
     * @param stageOf         the stage of each rank: ranks are compared with those of their own stage only
     * @param window          steps of evidence (the test needs at least a few; 20 flags a 1.5× rank in ~20 steps)
     * @param alpha           false-alarm probability per test under fair arrival order
     * @param minLeadFraction the smallest lead, as a fraction of the peers' time outside collectives, that counts
     */
    public SlowRankDetector(int[] stageOf, int window, double alpha, double minLeadFraction) {
        if (window < 2) throw new IllegalArgumentException("window must be >= 2, got " + window);
        if (!(alpha > 0 && alpha < 1)) throw new IllegalArgumentException("alpha must be in (0, 1), got " + alpha);
        this.window = window;
        this.alpha = alpha;
        this.minLeadFraction = minLeadFraction;
        int stagesCount = Arrays.stream(stageOf).max().orElse(-1) + 1;
        for (int s = 0; s < stagesCount; s++) {
            final int stage = s;
            int[] members = java.util.stream.IntStream.range(0, stageOf.length).filter(r -> stageOf[r] == stage).toArray();
            if (members.length >= 2) stages.add(new Stage(members));
        }
    }

    /** The default test: 20 steps, α = 10⁻⁴, a lead of at least 10% of the peers' busy time. */
    public static SlowRankDetector withDefaults(int[] stageOf) {
        return new SlowRankDetector(stageOf, 20, 1e-4, 0.10);
    }

    /**
     * Takes step {@code step}'s timings and returns the ranks flagged now (at most one per stage).
     *
     * @param windowMs each rank's wall time over the step
     * @param inOpsMs  each rank's time inside collectives over the same step
     */
    public List<SlowRank> observe(long step, double[] windowMs, double[] inOpsMs) {
        List<SlowRank> flagged = new ArrayList<>();
        for (Stage s : stages) {
            s.add(step, windowMs, inOpsMs);
            SlowRank r = s.evaluate();
            if (r != null) flagged.add(r);
        }
        return flagged;
    }

    /** One stage's ring of evidence: per step, which member was clearly last, its lead and everyone's busy time. */
    private final class Stage {
        final int[] members;
        final long[] steps = new long[window];
        final int[] last = new int[window]; // index into members, or -1 when no member was clearly last
        final double[] lead = new double[window];
        final double[] lastBusy = new double[window];
        final double[] peersBusy = new double[window];
        int filled;
        long added;
        SlowRank current;

        Stage(int[] members) {
            this.members = members;
        }

        void add(long step, double[] windowMs, double[] inOpsMs) {
            int n = members.length, slot = (int) (added++ % window);
            int least = 0;
            for (int i = 1; i < n; i++) if (inOpsMs[members[i]] < inOpsMs[members[least]]) least = i;
            double[] othersIn = new double[n - 1], othersBusy = new double[n - 1];
            for (int i = 0, k = 0; i < n; i++) {
                if (i == least) continue;
                othersIn[k] = inOpsMs[members[i]];
                othersBusy[k++] = windowMs[members[i]] - inOpsMs[members[i]];
            }
            double l = median(othersIn) - inOpsMs[members[least]];
            double busy = median(othersBusy);
            boolean clear = Double.isFinite(l) && l > 0 && l >= minLeadFraction * Math.max(busy, 0);
            steps[slot] = step;
            last[slot] = clear ? least : -1;
            lead[slot] = l;
            lastBusy[slot] = windowMs[members[least]] - inOpsMs[members[least]];
            peersBusy[slot] = busy;
            filled = Math.min(filled + 1, window);
        }

        /**
         * Where the evidence for member {@code m} starts: the oldest step it was last at from which on
         * it was last at nine steps in ten or more (so a chance "last" long before does not count).
         */
        long start(int m) {
            long since = -1;
            int hits = 0;
            for (int back = 0; back < filled; back++) {
                int slot = (int) Math.floorMod(added - 1 - back, (long) window);
                if (last[slot] != m) continue;
                hits++;
                if (hits >= 0.9 * (back + 1)) since = steps[slot];
            }
            return since;
        }

        SlowRank evaluate() {
            int n = members.length;
            int[] count = new int[n];
            for (int j = 0; j < filled; j++) if (last[j] >= 0) count[last[j]]++;
            int top = 0;
            for (int i = 1; i < n; i++) if (count[i] > count[top]) top = i;
            if (filled < window || binomialTail(filled, count[top], 1.0 / n) >= alpha) {
                current = null;
                return null;
            }
            double[] leads = new double[count[top]], ratios = new double[count[top]];
            for (int j = 0, k = 0; j < filled; j++) {
                if (last[j] != top) continue;
                leads[k] = lead[j];
                ratios[k++] = peersBusy[j] > 0 ? lastBusy[j] / peersBusy[j] : Double.NaN;
            }
            int rank = members[top];
            long since = current != null && current.rank() == rank ? current.sinceStep() : start(top);
            current = new SlowRank(rank, median(ratios), median(leads), since);
            return current;
        }
    }

    /** P(X ≥ k) for X ~ Binomial(n, p). */
    static double binomialTail(int n, int k, double p) {
        double sum = 0;
        for (int i = k; i <= n; i++) sum += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
        return Math.min(1, sum);
    }

    private static double logChoose(int n, int k) {
        double s = 0;
        for (int i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
        return s;
    }

    private static double median(double[] xs) {
        double[] s = Arrays.stream(xs).filter(Double::isFinite).sorted().toArray();
        if (s.length == 0) return Double.NaN;
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
