package dev.tandem.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Exhaustive search over tp × pp × v × micro-batches × ZeRO stage × recompute × sequence parallel
 * × optimizer offload × attention kernel (× expert layout for an MoE model), for a fixed global
 * batch, precision and optimizer ({@link Space}). Shapes
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
    public record Space(TrainingPrecision precision, OptimizerSpec optimizer, List<Offload> offloads, List<AttentionKernel> attentions) {
        public Space {
            offloads = List.copyOf(offloads);
            attentions = List.copyOf(attentions);
        }

        /** Materialized attention only. */
        public Space(TrainingPrecision precision, OptimizerSpec optimizer, List<Offload> offloads) {
            this(precision, optimizer, offloads, List.of(AttentionKernel.MATERIALIZED));
        }

        /**
         * Mixed-precision AdamW with and without offload, flash attention, on accelerators (a flash
         * kernel is faster and keeps less than a materialized one whatever the plan, so the search
         * does not try the latter; a plan given by hand may); float32 AdamW without offload on a
         * calibrated CPU, with materialized attention as the cost model prices Tandem's kernels.
         */
        public static Space of(ClusterSpec cluster) {
            return Calibration.isCalibrated(cluster.hardware())
                    ? new Space(TrainingPrecision.FP32, OptimizerSpec.ADAMW, List.of(Offload.NONE))
                    : new Space(TrainingPrecision.MIXED, OptimizerSpec.ADAMW, List.of(Offload.NONE, Offload.OPTIMIZER),
                    List.of(AttentionKernel.FLASH));
        }

        /** One rank with this space's precision and optimizer, the rest as {@link Plan#SINGLE}: what a label fills in from. */
        public Plan base() {
            return Plan.SINGLE.withPrecision(precision).withOptimizer(optimizer);
        }

        public Space with(TrainingPrecision p, OptimizerSpec o) {
            return new Space(p, o, offloads, attentions);
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
                                      for (AttentionKernel attention : space.attentions()) {
                                        // A flash kernel recomputes its scores anyway: selective recompute is the same plan as none.
                                        if (attention == AttentionKernel.FLASH && rc == Recompute.SELECTIVE) continue;
                                        for (ExpertLayout experts : expertLayouts(m, dp, tp, pp)) {
                                        Plan c = new Plan(new MeshShape(dp, tp, pp, 1, cp, false), zero, micro, Schedule.withChunks(v), List.of(),
                                                RecomputePolicy.every(rc), sp == 1, off, space.precision(), space.optimizer(), OuterSpec.NONE,
                                                experts, attention);
                                        if (PlanRules.check(m, cluster, batch, c) != null) continue;
                                        evaluated++;
                                        MemoryBreakdown mem = cost.memory(c);
                                        String key = !mem.fits() ? "out of device memory"
                                                : c.offload() == Offload.OPTIMIZER && cost.rejection(c, mem) != null ? "host memory too small for offload" : null;
                                        if (key != null) {
                                            rejected.merge(key, 1L, Long::sum);
                                            // Keep the plan that came closest to fitting as the example (its reason is written once, here).
                                            Rejection kept = example.get(key);
                                            if (kept == null || mem.total() < kept.memory().total()) example.put(key, new Rejection(c, mem, cost.rejection(c, mem)));
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
            }
        }
        List<Prediction> ranked = new ArrayList<>(top);
        ranked.sort(FASTEST);
        double seconds = (System.nanoTime() - start) / 1e9;
        return new SearchResult(m, cluster, batch, space, List.copyOf(ranked), evaluated, rejected, example, seconds);
    }

    /**
     * The expert axis for an MoE model: every expert on every rank, expert groups of each size
     * that divides both dp and the experts, and FSSDP over the whole data-parallel group (the
     * runtime spreads experts with tp = pp = 1 only); a dense model has only the first.
     */
    static List<ExpertLayout> expertLayouts(ModelSpec m, int dp, int tp, int pp) {
        if (!m.moe().sparse() || tp > 1 || pp > 1) return List.of(ExpertLayout.NONE);
        List<ExpertLayout> out = new ArrayList<>();
        for (int ep : divisors(dp)) if (m.moe().experts() % ep == 0) out.add(new ExpertLayout(ep, ExpertLayout.Mode.EP));
        if (dp > 1) out.add(new ExpertLayout(dp, ExpertLayout.Mode.FSSDP));
        return out;
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
