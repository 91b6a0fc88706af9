package dev.tandem.nn;

/**
 * The routers of one step over every rank: rows each expert computed (summed over MoE blocks and
 * micro-batches), assignments dropped for lack of capacity out of all made, and the mean
 * load-balancing and z losses (unweighted) over the router calls.
 *
 * @param expertBytesPerRank  bytes a rank sent to other ranks for the experts this step (tokens by
 *                            all-to-all, FSSDP's replicas and their gradients), mean over ranks; 0
 *                            when every rank holds every expert
 * @param rankLoadMaxOverMean expert rows the busiest rank computed over the mean of all ranks
 */
public record RouterSummary(long[] tokensPerExpert, long dropped, long assignments, double auxLoss, double zLoss,
                            double expertBytesPerRank, double rankLoadMaxOverMean) {
    /** The busiest expert's rows over the mean (1 = balanced). */
    public double busiestOverMean() {
        long max = 0, sum = 0;
        for (long t : tokensPerExpert) {
            max = Math.max(max, t);
            sum += t;
        }
        return sum == 0 ? 0 : max * (double) tokensPerExpert.length / sum;
    }

    public double droppedFraction() {
        return assignments == 0 ? 0 : (double) dropped / assignments;
    }

    public String line() {
        return String.format(java.util.Locale.ROOT, "aux %.3f | z %.2f | drop %.1f%% | expert max/mean %.2f | rank max/mean %.2f", auxLoss,
                zLoss, 100 * droppedFraction(), busiestOverMean(), rankLoadMaxOverMean);
    }
}
