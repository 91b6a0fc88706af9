package dev.tandem.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Exhaustive search over tp × pp × v × micro-batch × ZeRO stage × recompute × sequence parallel ×
 * optimizer offload, for a fixed global batch. Shapes that do not divide ({@link PlanRules}) are
 * never generated; plans that do not fit are counted by reason; the rest are timed and ranked.
 * Memory is checked before time, so the expensive part runs only for plans that fit.
 */
public final class PlanSearch {
    private static final Comparator<Prediction> FASTEST = Comparator.comparingDouble(Prediction::stepSeconds)
            .thenComparingDouble(p -> p.memory().total());

    private PlanSearch() {}

    /** Keeps the {@code keep} fastest feasible plans. */
    public static SearchResult search(CostModel cost, int keep) {
        long start = System.nanoTime();
        ModelSpec m = cost.model();
        ClusterSpec cluster = cost.cluster();
        int n = cluster.devices(), batch = cost.globalBatch();
        PriorityQueue<Prediction> top = new PriorityQueue<>(FASTEST.reversed());
        Map<String, Long> rejected = new LinkedHashMap<>();
        Map<String, Rejection> example = new LinkedHashMap<>();
        long evaluated = 0;

        for (int tp : divisors(cluster.devicesPerNode())) {
            if (n % tp != 0) continue;
            for (int pp : divisors(n / tp)) {
                int dp = n / (tp * pp);
                if (pp > m.layers() || batch % dp != 0) continue;
                for (int mb : divisors(batch / dp)) {
                    for (int v : m.layers() % pp == 0 ? divisors(m.layers() / pp) : List.of(1)) {
                        for (ZeroStage zero : ZeroStage.values()) {
                            for (Recompute rc : Recompute.values()) {
                                for (int sp = 0; sp <= (tp > 1 ? 1 : 0); sp++) {
                                    for (int off = 0; off <= 1; off++) {
                                        PlanCandidate c = new PlanCandidate(tp, pp, dp, mb, Schedule.withChunks(v), zero, rc,
                                                sp == 1, off == 1);
                                        if (PlanRules.check(m, cluster, batch, c) != null) continue;
                                        evaluated++;
                                        MemoryBreakdown mem = cost.memory(c);
                                        String why = cost.rejection(c, mem);
                                        if (why != null) {
                                            String key = mem.fits() ? "host memory too small for offload" : "out of device memory";
                                            rejected.merge(key, 1L, Long::sum);
                                            // Keep the plan that came closest to fitting as the example.
                                            example.merge(key, new Rejection(c, mem, why),
                                                    (a, b) -> a.memory().total() <= b.memory().total() ? a : b);
                                            continue;
                                        }
                                        Prediction p = cost.predict(c, mem);
                                        if (top.size() < keep) {
                                            top.add(p);
                                        } else if (FASTEST.compare(p, top.peek()) < 0) {
                                            top.poll();
                                            top.add(p);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        List<Prediction> ranked = new ArrayList<>(top);
        ranked.sort(FASTEST);
        double seconds = (System.nanoTime() - start) / 1e9;
        return new SearchResult(m, cluster, batch, List.copyOf(ranked), evaluated, rejected, example, seconds);
    }

    static List<Integer> divisors(int x) {
        List<Integer> out = new ArrayList<>();
        for (int d = 1; d <= x; d++) if (x % d == 0) out.add(d);
        return out;
    }
}
