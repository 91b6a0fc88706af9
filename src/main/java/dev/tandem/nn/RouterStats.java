package dev.tandem.nn;

/**
 * What the routers of one training step did on this rank, added up over MoE blocks and
 * micro-batches: a {@link RouterLog} that a training loop reads and resets once per step.
 */
public final class RouterStats implements RouterLog {
    private final long[] tokensPerExpert;
    private long dropped, assignments;
    private double aux, z;
    private int calls;

    public RouterStats(int experts) {
        this.tokensPerExpert = new long[experts];
    }

    @Override
    public void record(int layer, Routing r) {
        for (int e = 0; e < tokensPerExpert.length; e++) tokensPerExpert[e] += r.counts()[e];
        dropped += r.dropped();
        assignments += (long) r.tokens() * r.topK();
        aux += r.auxLoss();
        z += r.zLoss();
        calls++;
    }

    /** The step so far as numbers to sum over ranks: tokens per expert, dropped, assignments, Σ aux, Σ z, calls. */
    public double[] toArray() {
        double[] out = new double[tokensPerExpert.length + 5];
        for (int e = 0; e < tokensPerExpert.length; e++) out[e] = tokensPerExpert[e];
        int i = tokensPerExpert.length;
        out[i] = dropped;
        out[i + 1] = assignments;
        out[i + 2] = aux;
        out[i + 3] = z;
        out[i + 4] = calls;
        return out;
    }

    /** Expert rows this rank's own routing kept this step (what it computes when it holds every expert). */
    public long keptRows() {
        long n = 0;
        for (long t : tokensPerExpert) n += t;
        return n;
    }

    /**
     * The summary of {@link #toArray()} values summed over {@code ranks} ranks, with the expert
     * bytes sent summed over them and the busiest rank's expert rows beside the sum.
     */
    public static RouterSummary summary(double[] sums, int ranks, double bytesSent, double maxRows, double sumRows) {
        int e = sums.length - 5;
        long[] tokens = new long[e];
        for (int i = 0; i < e; i++) tokens[i] = Math.round(sums[i]);
        double calls = Math.max(1, sums[e + 4]);
        return new RouterSummary(tokens, Math.round(sums[e]), Math.round(sums[e + 1]), sums[e + 2] / calls, sums[e + 3] / calls,
                bytesSent / ranks, sumRows == 0 ? 0 : maxRows * ranks / sumRows);
    }

    public void reset() {
        java.util.Arrays.fill(tokensPerExpert, 0);
        dropped = assignments = 0;
        aux = z = 0;
        calls = 0;
    }
}
