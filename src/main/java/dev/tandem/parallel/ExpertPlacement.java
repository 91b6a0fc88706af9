package dev.tandem.parallel;

import java.util.Arrays;

/**
 * Which ranks of an expert group hold each expert of one MoE block for a step: the owner first
 * (expert e belongs to rank e / (experts / ranks), the disjoint placement P0), then any replicas
 * (Hecate's P1 ⊇ P0). Every rank computes the same placement from the same loads.
 */
public record ExpertPlacement(int ranks, int[][] holders) {

    /** P0: each expert on its owner alone (expert parallelism; FSSDP with nothing replicated). */
    public static ExpertPlacement owners(int experts, int ranks) {
        int[][] h = new int[experts][];
        for (int e = 0; e < experts; e++) h[e] = new int[] {owner(e, experts, ranks)};
        return new ExpertPlacement(ranks, h);
    }

    public static int owner(int expert, int experts, int ranks) {
        return expert / (experts / ranks);
    }

    /**
     * P1 from estimated loads (rows per expert, e.g. the last step's): greedily, while the busiest
     * rank carries more than {@code tolerance} × the mean, its expert with the largest share per
     * holder gets one more holder, the least loaded rank that does not hold it and has replica room
     * left ({@code maxReplicasPerRank}); a rank's load is the sum of its experts' load / holders
     * (tokens of an expert are split evenly among its holders). Stops when a replica would not
     * lower the busiest rank's load. Ties go to the lower index, so the result is deterministic.
     */
    public static ExpertPlacement balanced(double[] load, int ranks, int maxReplicasPerRank, double tolerance) {
        int experts = load.length;
        ExpertPlacement p = owners(experts, ranks);
        int[][] h = p.holders;
        int[] extra = new int[ranks];
        double total = Arrays.stream(load).sum(), mean = total / ranks;
        if (total <= 0) return p;
        for (int round = 0; round < ranks * maxReplicasPerRank; round++) {
            double[] rankLoad = rankLoads(load, h, ranks);
            int busiest = 0;
            for (int r = 1; r < ranks; r++) if (rankLoad[r] > rankLoad[busiest]) busiest = r;
            if (rankLoad[busiest] <= tolerance * mean) break;
            int best = -1, target = -1;
            for (int e = 0; e < experts; e++) {
                if (!holds(h[e], busiest)) continue;
                int t = leastLoadedWithout(h[e], rankLoad, extra, maxReplicasPerRank);
                if (t < 0) continue;
                if (best < 0 || load[e] / h[e].length > load[best] / h[best].length) {
                    best = e;
                    target = t;
                }
            }
            if (best < 0) break;
            double share = load[best] / (h[best].length + 1);
            if (rankLoad[target] + share >= rankLoad[busiest]) break; // would only move the peak
            h[best] = Arrays.copyOf(h[best], h[best].length + 1);
            h[best][h[best].length - 1] = target;
            extra[target]++;
        }
        return p;
    }

    private static int leastLoadedWithout(int[] holders, double[] rankLoad, int[] extra, int max) {
        int best = -1;
        for (int r = 0; r < rankLoad.length; r++) {
            if (holds(holders, r) || extra[r] >= max) continue;
            if (best < 0 || rankLoad[r] < rankLoad[best]) best = r;
        }
        return best;
    }

    static boolean holds(int[] holders, int rank) {
        for (int r : holders) if (r == rank) return true;
        return false;
    }

    /** Each rank's share of the loads when tokens of an expert split evenly among its holders. */
    public static double[] rankLoads(double[] load, int[][] holders, int ranks) {
        double[] out = new double[ranks];
        for (int e = 0; e < load.length; e++) for (int r : holders[e]) out[r] += load[e] / holders[e].length;
        return out;
    }

    /** Replicas beyond the owners. */
    public int replicas() {
        int n = 0;
        for (int[] x : holders) n += x.length - 1;
        return n;
    }

    /**
     * How many of {@code rows} rows of {@code expert} go to each of its holders, in holder order:
     * an even split, the first {@code rows mod holders} one more.
     */
    public int[] split(int expert, int rows) {
        int n = holders[expert].length;
        int[] out = new int[n];
        for (int j = 0; j < n; j++) out[j] = rows / n + (j < rows % n ? 1 : 0);
        return out;
    }
}
