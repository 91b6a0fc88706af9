package dev.tandem.comm.health;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads a per-connection latency matrix as C4 does: one slow cell is a slow link; a rank whose
 * row is slow (most of its connections, not just one) is a slow endpoint — its NIC, its host or
 * the process itself. Each connection is compared with the faster of two references: the fastest
 * connection of its own kind now (shared memory inside a host and TCP between hosts are told
 * apart; a slow endpoint would pull a median up, so the fastest it is), and the connection's own
 * best round trip in earlier probes — so that a slowdown of every connection of one kind (the one
 * link between two hosts) is still seen.
 */
public final class LinkClassifier {
    /** A finding: {@code b} is -1 for an endpoint. {@code ratio} is its round trip over its reference (the mean over the connections of an endpoint). */
    public record LinkFault(Kind kind, int a, int b, double rttMs, double ratio) {
        public enum Kind { SLOW_LINK, SLOW_ENDPOINT }

        public String label() {
            return kind == Kind.SLOW_LINK ? "slow_link" : "slow_endpoint";
        }

        public String describe() {
            return kind == Kind.SLOW_ENDPOINT
                    ? String.format(java.util.Locale.ROOT, "rank %d is a slow endpoint: its connections take %.2f ms a round trip, %.1fx its reference", a, rttMs, ratio)
                    : String.format(java.util.Locale.ROOT, "the link between ranks %d and %d is slow: %.2f ms a round trip, %.1fx its reference", a, b, rttMs, ratio);
        }
    }

    private final double factor;
    private final double minExtraMs;

    /**
     * @param factor     how many times the fastest connection of its kind a slow one takes at least
     * @param minExtraMs how many milliseconds more at least (so that microsecond jitter on fast links is not a finding)
     */
    public LinkClassifier(double factor, double minExtraMs) {
        this.factor = factor;
        this.minExtraMs = minExtraMs;
    }

    /** The faster of the two timings of each pair: what the pair's connection can do. */
    public static double[][] pairs(double[][] rttMs) {
        int n = rttMs.length;
        double[][] pair = new double[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) if (i != j) pair[i][j] = Math.min(rttMs[i][j], rttMs[j][i]);
        return pair;
    }

    /**
     * @param rttMs     rttMs[i][j]: round trip from i to j as rank i timed it (read through {@link #pairs})
     * @param transport transport[i][j]: the kind of connection ("shm", "tcp", ...)
     * @param earlier   each pair's best round trip in earlier probes ({@link #pairs} form), or null for none
     */
    public List<LinkFault> classify(double[][] rttMs, String[][] transport, double[][] earlier) {
        int n = rttMs.length;
        double[][] pair = pairs(rttMs);
        boolean[][] slow = new boolean[n][n];
        double[][] ratio = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double best = fastest(pair, transport, transport[i][j]);
                if (earlier != null) best = Math.min(best, earlier[i][j]);
                ratio[i][j] = ratio[j][i] = pair[i][j] / best;
                slow[i][j] = slow[j][i] = pair[i][j] >= factor * best && pair[i][j] - best >= minExtraMs;
            }
        }
        List<LinkFault> found = new ArrayList<>();
        boolean[] endpoint = new boolean[n];
        if (n >= 3) {
            for (int r = 0; r < n; r++) {
                int count = 0;
                double sum = 0, ratios = 0;
                for (int j = 0; j < n; j++) {
                    if (j != r && slow[r][j]) {
                        count++;
                        sum += pair[r][j];
                        ratios += ratio[r][j];
                    }
                }
                if (count >= 2 && count >= Math.ceil(0.75 * (n - 1))) {
                    endpoint[r] = true;
                    found.add(new LinkFault(LinkFault.Kind.SLOW_ENDPOINT, r, -1, sum / count, ratios / count));
                }
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                if (slow[i][j] && !endpoint[i] && !endpoint[j]) found.add(new LinkFault(LinkFault.Kind.SLOW_LINK, i, j, pair[i][j], ratio[i][j]));
            }
        }
        return found;
    }

    private static double fastest(double[][] pair, String[][] transport, String kind) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < pair.length; i++) {
            for (int j = i + 1; j < pair.length; j++) if (transport[i][j].equals(kind)) best = Math.min(best, pair[i][j]);
        }
        return best;
    }
}
