package dev.tandem.plan.serve;

import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.ModelSpec;
import dev.tandem.plan.PlanInputException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * Simulates every serving plan for a model on a cluster (tp dividing the node and the heads, pp up
 * to the layers, dp the rest) on a trace and ranks them by a latency objective (APEX, the seed's
 * serving-plan simulator, does the same with more batching policies).
 */
public final class ServingSearch {
    private ServingSearch() {}

    /** What to rank by: lower is better for each. */
    public enum Objective {
        TTFT("p90 time to first token", r -> ServingResult.quantile(r.ttft(), 0.9)),
        TPOT("p90 time per output token", r -> ServingResult.quantile(r.tpot(), 0.9)),
        LATENCY("mean request latency", ServingResult::meanLatency),
        THROUGHPUT("output tokens per second (higher is better)", r -> -r.tokensPerSecond());

        final String description;
        final ToDoubleFunction<ServingResult> key;

        Objective(String description, ToDoubleFunction<ServingResult> key) {
            this.description = description;
            this.key = key;
        }

        public String description() {
            return description;
        }

        public static Objective named(String v) {
            try {
                return valueOf(v.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new PlanInputException("--objective must be ttft, tpot, latency or throughput, got '" + v + "'");
            }
        }
    }

    /** Every plan's result, best first; plans whose weights do not fit, or that reject requests, last. */
    public static List<ServingResult> rank(ModelSpec model, ClusterSpec cluster, List<ServeRequest> trace, Objective objective) {
        List<ServingResult> out = new ArrayList<>();
        for (ServingPlan plan : plans(model, cluster)) out.add(ServingSimulator.run(model, cluster, plan, trace));
        Comparator<ServingResult> order = Comparator.comparing((ServingResult r) -> !r.fits() || r.rejected() > 0 || r.latency().length == 0)
                .thenComparingDouble(r -> r.fits() && r.latency().length > 0 ? objective.key.applyAsDouble(r) : Double.MAX_VALUE);
        out.sort(order);
        return out;
    }

    static List<ServingPlan> plans(ModelSpec model, ClusterSpec cluster) {
        List<ServingPlan> out = new ArrayList<>();
        int n = cluster.devices(), node = cluster.devicesPerNode();
        for (int tp = 1; tp <= node; tp++) {
            if (node % tp != 0 || n % tp != 0 || model.heads() % tp != 0) continue;
            for (int pp = 1; pp <= Math.min(model.layers(), n / tp); pp++) {
                if ((n / tp) % pp == 0) out.add(new ServingPlan(n / (tp * pp), tp, pp));
            }
        }
        return out;
    }
}
