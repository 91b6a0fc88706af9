package dev.tandem.plan.serve;

import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.ModelSpec;
import java.util.List;
import java.util.Locale;

/** Renders ranked serving plans as a table: latency distributions and throughput per plan. */
public final class ServingReport {
    private ServingReport() {}

    public static String text(ModelSpec model, ClusterSpec cluster, List<ServeRequest> trace, ServingSearch.Objective objective,
                              List<ServingResult> ranked, int top) {
        StringBuilder out = new StringBuilder();
        double span = trace.getLast().arrival() - trace.getFirst().arrival();
        out.append(String.format(Locale.ROOT, "Serve   %s on %s: %d requests over %.1f s (%.2f per second), mean prompt %.0f, mean output %.0f tokens%n",
                model.name(), cluster, trace.size(), span, span > 0 ? (trace.size() - 1) / span : 0,
                trace.stream().mapToInt(ServeRequest::prompt).average().orElse(0), trace.stream().mapToInt(ServeRequest::output).average().orElse(0)));
        out.append("Ranked by ").append(objective.description()).append(" (16-bit weights and KV cache, iteration-level batching)\n\n");
        out.append(String.format(Locale.ROOT, "%-3s %-18s %9s %27s %27s %9s %9s %5s%n", "#", "plan", "KV tokens",
                "TTFT p50 / p90 / p99 (ms)", "TPOT p50 / p90 / p99 (ms)", "latency s", "tok/s", "rej"));
        for (int i = 0; i < Math.min(top, ranked.size()); i++) {
            ServingResult r = ranked.get(i);
            if (!r.fits()) {
                out.append(String.format(Locale.ROOT, "%-3d %-18s weights do not fit in device memory%n", i + 1, r.plan().label()));
                continue;
            }
            out.append(String.format(Locale.ROOT, "%-3d %-18s %9.0f %27s %27s %9.2f %9.0f %5d%n", i + 1, r.plan().label(), r.kvTokens(),
                    triple(r.ttft()), triple(r.tpot()), r.meanLatency(), r.tokensPerSecond(), r.rejected()));
        }
        return out.toString();
    }

    private static String triple(double[] sorted) {
        return String.format(Locale.ROOT, "%.1f / %.1f / %.1f", 1e3 * ServingResult.quantile(sorted, 0.5),
                1e3 * ServingResult.quantile(sorted, 0.9), 1e3 * ServingResult.quantile(sorted, 0.99));
    }
}
