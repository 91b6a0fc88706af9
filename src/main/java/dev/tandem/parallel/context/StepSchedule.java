package dev.tandem.parallel.context;

import java.util.Arrays;
import java.util.List;

/**
 * Who computes what in one step over a pool of ranks: the placements in the one order every rank
 * follows (a rank runs the placements that include it, in this order). A global order makes the
 * ring placements deadlock-free: the earliest placement not yet done always has all its ranks
 * ready for it.
 *
 * @param placements every sequence of the step exactly once, in run order
 * @param ranks      ranks of the pool
 */
public record StepSchedule(List<Placement> placements, int ranks) {
    public StepSchedule {
        placements = List.copyOf(placements);
    }

    /** The placements rank r runs, in order: its micro-batches, which may number differently on each rank. */
    public List<Placement> of(int rank) {
        return placements.stream().filter(p -> p.runsOn(rank)).toList();
    }

    /**
     * Estimated compute per rank: a ring placement costs each of its ranks an equal share of its
     * sequence (the mirrored chunks balance it), a packed one the sum of its sequences, a padded one
     * its rows at the padded length.
     */
    public double[] loads(int[] lengths, SequenceCost cost) {
        double[] load = new double[ranks];
        for (Placement p : placements) {
            double c = 0;
            int padTo = longest(p, lengths);
            for (int s : p.sequences()) c += cost.of(p.layout() == Placement.Layout.PADDED ? padTo : lengths[s]);
            for (int r : p.ranks()) load[r] += c / p.ranks().length;
        }
        return load;
    }

    /** The busiest rank's estimated compute over the mean (1 = perfect balance). */
    public double imbalance(int[] lengths, SequenceCost cost) {
        double[] load = loads(lengths, cost);
        double mean = Arrays.stream(load).average().orElse(0);
        return mean == 0 ? 1 : Arrays.stream(load).max().orElse(0) / mean;
    }

    /** Tokens rank r holds at once at most (its largest micro-batch): what its activations grow with. */
    public int peakTokens(int rank, int[] lengths) {
        int most = 0;
        for (Placement p : of(rank)) {
            int tokens = 0, padTo = longest(p, lengths);
            for (int s : p.sequences()) {
                tokens += switch (p.layout()) {
                    case PACKED -> lengths[s];
                    case PADDED -> padTo;
                    case RING -> new Chunks(lengths[s], p.ranks().length).rows(indexOf(p.ranks(), rank));
                };
            }
            most = Math.max(most, tokens);
        }
        return most;
    }

    /** The longest sequence of a placement: what a padded micro-batch pads its rows to. */
    static int longest(Placement p, int[] lengths) {
        return Arrays.stream(p.sequences()).map(s -> lengths[s]).max().orElse(0);
    }

    /** Tokens of padding in the step: rows of padded micro-batches beyond their sequences. */
    public long paddingTokens(int[] lengths) {
        long n = 0;
        for (Placement p : placements) {
            if (p.layout() != Placement.Layout.PADDED) continue;
            int padTo = longest(p, lengths);
            for (int s : p.sequences()) n += padTo - lengths[s];
        }
        return n;
    }

    static int indexOf(int[] ranks, int rank) {
        for (int i = 0; i < ranks.length; i++) if (ranks[i] == rank) return i;
        throw new IllegalArgumentException("rank " + rank + " not in " + Arrays.toString(ranks));
    }
}
