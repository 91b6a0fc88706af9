package dev.tandem.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Exhaustive search over tp × pp × v × micro-batches × ZeRO stage × recompute × sequence parallel
 * × optimizer offload, for a fixed global batch, precision and optimizer ({@link Space}). Shapes
 * that do not divide ({@link PlanRules}) are skipped, as are ZeRO stages above 0 with one
 * data-parallel rank (nothing to shard: the same plan as stage 0); plans that do not fit are
 * counted by reason; the rest are timed and ranked. Memory is checked before time, so the
 * expensive part runs only for plans that fit.
 */
public final class PlanSearch {
    private static final Comparator<Prediction> FASTEST = Comparator.comparingDouble(Prediction::stepSeconds)
            .thenComparingDouble(p -> p.memory().total());

    private PlanSearch() {}

    /**
     * What the search holds fixed: the precision and the optimizer, and which offload options it tries.
     * On a calibrated CPU the plans are the runtime's: float32, nothing offloaded (host memory is the
     * device's memory).
     */
    public record Space(TrainingPrecision precision, OptimizerSpec optimizer, List<Offload> offloads) {
        public Space {
            offloads = List.copyOf(offloads);
        }

        /** Mixed-precision AdamW with and without offload on accelerators; float32 AdamW without offload on a calibrated CPU. */
        public static Space of(ClusterSpec cluster) {
            return Calibration.isCalibrated(cluster.hardware())
                    ? new Space(TrainingPrecision.FP32, OptimizerSpec.ADAMW, List.of(Offload.NONE))
                    : new Space(TrainingPrecision.MIXED, OptimizerSpec.ADAMW, List.of(Offload.NONE, Offload.OPTIMIZER));
        }

        /** One rank with this space's precision and optimizer, the rest as {@link Plan#SINGLE}: what a label fills in from. */
        public Plan base() {
            return Plan.SINGLE.withPrecision(precision).withOptimizer(optimizer);
        }

        public Space with(TrainingPrecision p, OptimizerSpec o) {
            return new Space(p, o, offloads);
        }
    }

    /** Keeps the {@code keep} fastest feasible plans. */
    public static SearchResult search(CostModel cost, int keep) {
        return search(cost, keep, Space.of(cost.cluster()));
    }

    /** Keeps the {@code keep} fastest feasible plans in {@code space}. */
    public static SearchResult search(CostModel cost, int keep, Space space) {
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
                for (int cp : contextSizes(m, n / (tp * pp))) {
                    int dp = n / (tp * pp * cp);
                    if (pp > m.layers() || batch % dp != 0) continue;
                    for (int mb : divisors(batch / dp)) {
                        int micro = batch / (dp * mb);
                        for (int v : m.layers() % pp == 0 ? divisors(m.layers() / pp) : List.of(1)) {
                            for (ZeroStage zero : ZeroStage.values()) {
                                if (dp == 1 && zero != ZeroStage.ZERO0) continue;
                                for (Recompute rc : Recompute.values()) {
                                    for (int sp = 0; sp <= (tp > 1 ? 1 : 0); sp++) {
                                        for (Offload off : space.offloads()) {
                                            Plan c = new Plan(new MeshShape(dp, tp, pp, 1, cp, false), zero, micro, Schedule.withChunks(v), List.of(),
                                                    RecomputePolicy.every(rc), sp == 1, off, space.precision(), space.optimizer());
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
        }
        List<Prediction> ranked = new ArrayList<>(top);
        ranked.sort(FASTEST);
        double seconds = (System.nanoTime() - start) / 1e9;
        return new SearchResult(m, cluster, batch, space, List.copyOf(ranked), evaluated, rejected, example, seconds);
    }

    /**
     * Context-parallel sizes worth trying on {@code ranks} ranks: 1, and powers of two dividing
     * them that leave each rank at least 4096 tokens of a sequence (below that a rank's chunk is
     * too small to gain from splitting, and short-context models keep the search they had).
     */
    static List<Integer> contextSizes(ModelSpec m, int ranks) {
        List<Integer> out = new ArrayList<>(List.of(1));
        for (int cp = 2; cp <= ranks && m.seq() / cp >= 4096; cp *= 2) if (ranks % cp == 0) out.add(cp);
        return out;
    }

    static List<Integer> divisors(int x) {
        List<Integer> out = new ArrayList<>();
        for (int d = 1; d <= x; d++) if (x % d == 0) out.add(d);
        return out;
    }
}
