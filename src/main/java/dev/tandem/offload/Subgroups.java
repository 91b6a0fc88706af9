package dev.tandem.offload;

import java.util.ArrayList;
import java.util.List;

/**
 * The offloaded optimizer state cut into subgroups of about the same number of elements, in
 * parameter order: the unit that is updated either in place in the slow tier or in the fast tier
 * (Deep Optimizer States). A subgroup is a list of pieces, each a run of one slice's elements; a
 * large slice spans several subgroups, small ones share one.
 */
record Subgroups(List<List<Piece>> groups) {
    /** Elements {@code [from, from + length)} of slice {@code slice}. */
    record Piece(int slice, long from, long length) {}

    /** Cuts the slices whose lengths are {@code lengths} (−1: not offloaded, skipped) into subgroups of at most {@code size} elements. */
    static Subgroups cut(long[] lengths, long size) {
        if (size < 1) throw new IllegalArgumentException("subgroup size must be >= 1");
        List<List<Piece>> out = new ArrayList<>();
        List<Piece> current = new ArrayList<>();
        long room = size;
        for (int i = 0; i < lengths.length; i++) {
            for (long from = 0; from < lengths[i]; ) {
                long n = Math.min(room, lengths[i] - from);
                current.add(new Piece(i, from, n));
                from += n;
                room -= n;
                if (room == 0) {
                    out.add(current);
                    current = new ArrayList<>();
                    room = size;
                }
            }
        }
        if (!current.isEmpty()) out.add(current);
        return new Subgroups(List.copyOf(out));
    }

    int count() {
        return groups.size();
    }

    List<Piece> get(int x) {
        return groups.get(x);
    }

    static long elements(List<Piece> group) {
        return group.stream().mapToLong(Piece::length).sum();
    }

    /** Whether subgroup {@code x} is updated in the fast tier under stride {@code k} (0: never): {@code (x+1) % k == 0}. */
    static boolean fast(int x, int k) {
        return k > 0 && (x + 1) % k == 0;
    }

    /**
     * The interleaving stride from measured speeds: the smallest k for which moving a subgroup to
     * the fast tier and back ({@code transferNanos}) takes no longer than updating the k−1
     * subgroups before it in place ({@code inPlaceNanos} each), so the transfer hides behind them.
     */
    static int stride(double transferNanos, double inPlaceNanos) {
        if (!(inPlaceNanos > 0)) return 2;
        return Math.max(2, 1 + (int) Math.ceil(transferNanos / inPlaceNanos));
    }
}
