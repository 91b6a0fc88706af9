package dev.tandem.plan.serve;

import java.util.Arrays;
import java.util.List;

/**
 * What a serving plan gives on a trace: time to first token (arrival → first token) and time per
 * output token (first → last token, over the tokens after the first) as distributions, throughput,
 * and the requests in the system on average (L of Little's law, from the simulator's own clock).
 *
 * @param fits         whether the weights fit on the devices with room for the KV cache
 * @param kvTokens     KV-cache capacity of one replica, tokens
 * @param ttft         sorted seconds, one per served request
 * @param tpot         sorted seconds, one per served request with more than one output token
 * @param latency      sorted seconds from arrival to last token
 * @param rejected     requests longer than a replica's whole KV cache
 * @param seconds      from the first arrival to the last token
 * @param outputTokens tokens generated
 * @param meanInSystem time-average of the requests that have arrived and not finished
 */
public record ServingResult(ServingPlan plan, boolean fits, double kvTokens, double[] ttft, double[] tpot, double[] latency, int rejected,
                            double seconds, long outputTokens, double meanInSystem) {

    static ServingResult doesNotFit(ServingPlan plan) {
        return new ServingResult(plan, false, 0, new double[0], new double[0], new double[0], 0, 0, 0, 0);
    }

    static ServingResult of(ServingPlan plan, double kvTokens, List<ReplicaSimulator.Log> logs) {
        var served = logs.stream().flatMap(l -> l.served().stream()).toList();
        var ok = served.stream().filter(s -> !s.rejected()).toList();
        double start = served.stream().mapToDouble(s -> s.request().arrival()).min().orElse(0);
        double end = logs.stream().mapToDouble(ReplicaSimulator.Log::end).max().orElse(0);
        double[] ttft = ok.stream().mapToDouble(s -> s.firstToken() - s.request().arrival()).sorted().toArray();
        double[] tpot = ok.stream().filter(s -> s.request().output() > 1)
                .mapToDouble(s -> (s.finish() - s.firstToken()) / (s.request().output() - 1)).sorted().toArray();
        double[] latency = ok.stream().mapToDouble(s -> s.finish() - s.request().arrival()).sorted().toArray();
        long tokens = ok.stream().mapToLong(s -> s.request().output()).sum();
        double span = Math.max(end - start, 1e-12);
        double area = logs.stream().mapToDouble(ReplicaSimulator.Log::requestSeconds).sum();
        return new ServingResult(plan, true, kvTokens, ttft, tpot, latency, served.size() - ok.size(), span, tokens, area / span);
    }

    /** The q-quantile (0..1) of sorted values, nearest rank; NaN when empty. */
    public static double quantile(double[] sorted, double q) {
        if (sorted.length == 0) return Double.NaN;
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    public double meanLatency() {
        return Arrays.stream(latency).average().orElse(Double.NaN);
    }

    /** Requests completed per second over the trace. */
    public double requestRate() {
        return latency.length / seconds;
    }

    /** Output tokens per second over the trace. */
    public double tokensPerSecond() {
        return outputTokens / seconds;
    }
}
