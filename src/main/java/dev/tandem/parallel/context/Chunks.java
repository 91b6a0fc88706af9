package dev.tandem.parallel.context;

import dev.tandem.TandemException;

/**
 * How one sequence of {@code length} tokens is split over a context-parallel group of {@code cp}
 * ranks with causal load balancing: cut into 2·cp chunks as equal as integers allow (chunk c is
 * tokens [c·L/(2cp), (c+1)·L/(2cp))), rank r holds chunk r and its mirror 2cp − 1 − r. Under a
 * causal mask a chunk's work grows with its index, so an early and a late chunk together give
 * every rank the same work, which one contiguous block per rank would not.
 */
public record Chunks(int length, int cp) {
    public Chunks {
        if (cp < 1) throw new TandemException("cp must be >= 1, got " + cp);
        if (length < 2 * cp) {
            throw new TandemException("a sequence of " + length + " tokens cannot be split into 2·cp = " + 2 * cp
                    + " chunks (each rank holds two): use sequences of at least " + 2 * cp + " tokens or a smaller cp");
        }
    }

    /** First token of chunk c (c in [0, 2cp]; chunk 2cp is the end). */
    public int start(int c) {
        return (int) ((long) c * length / (2L * cp));
    }

    public int size(int c) {
        return start(c + 1) - start(c);
    }

    /** The two chunks of rank r, in the order its rows hold them: r, then 2cp − 1 − r. */
    public int[] of(int rank) {
        return new int[] {rank, 2 * cp - 1 - rank};
    }

    /** Tokens rank r holds. */
    public int rows(int rank) {
        return size(rank) + size(2 * cp - 1 - rank);
    }

    /** The global positions of rank r's rows, in row order. */
    public int[] positions(int rank) {
        int[] out = new int[rows(rank)];
        int i = 0;
        for (int c : of(rank)) for (int t = start(c); t < start(c + 1); t++) out[i++] = t;
        return out;
    }
}
