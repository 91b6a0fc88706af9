package dev.tandem.parallel.context;

import java.util.Arrays;

/**
 * One unit of work of a step: which sequences, on which ranks, laid out how. A rank runs each of
 * its placements as one micro-batch (forward and backward); a placement on several ranks is one
 * sequence split over them by ring attention, and those ranks run it together.
 *
 * @param sequences indices into the step's sequences
 * @param ranks     world ranks, in ring order
 * @param layout    how the sequences form the micro-batch
 */
public record Placement(int[] sequences, int[] ranks, Layout layout) {
    public enum Layout {
        /** The sequences back to back in one row, attention and positions per sequence ({@link dev.tandem.nn.PackedDocuments}). */
        PACKED,
        /** One row per sequence, each padded to the longest of the micro-batch (the padding's targets ignored). */
        PADDED,
        /** One sequence split over the ranks ({@link RingAttention}). */
        RING
    }

    public Placement {
        sequences = sequences.clone();
        ranks = ranks.clone();
        if (layout == Layout.RING && sequences.length != 1) throw new IllegalArgumentException("a ring placement holds one sequence");
        if (layout != Layout.RING && ranks.length != 1) throw new IllegalArgumentException(layout + " placements run on one rank");
    }

    public boolean runsOn(int rank) {
        return Arrays.stream(ranks).anyMatch(r -> r == rank);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Placement p && Arrays.equals(sequences, p.sequences) && Arrays.equals(ranks, p.ranks) && layout == p.layout;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(sequences) * 31 + Arrays.hashCode(ranks);
    }

    @Override
    public String toString() {
        return layout + Arrays.toString(sequences) + "@" + Arrays.toString(ranks);
    }
}
