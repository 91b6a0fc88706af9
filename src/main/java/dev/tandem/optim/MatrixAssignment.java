package dev.tandem.optim;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which rank updates each whole matrix under ZeRO when the optimizer needs whole matrices (Muon
 * orthogonalizes them, SOAP preconditions them), so no rank ever sees part of one. Largest
 * first, each matrix goes to the rank with the fewest elements so far; ties go to the first
 * such rank counting from {@code first}. With equal sizes this is the reference's round-robin
 * deal; with unequal ones it keeps the fullest rank within one matrix of the mean, which matters
 * because every rank's share of a ZeRO unit is padded to the largest share.
 */
public final class MatrixAssignment {
    private MatrixAssignment() {}

    /**
     * The owning rank of each matrix, in the order of {@code sizes} (element counts). A pure
     * function of its arguments, so every rank computes the same assignment.
     *
     * @param first the rank preferred on ties; callers rotate it from one group of matrices to the
     *              next so that the largest matrix of every group does not land on the same rank
     */
    public static int[] assign(long[] sizes, int ranks, int first) {
        if (ranks < 1) throw new IllegalArgumentException("ranks must be >= 1, got " + ranks);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) order.add(i);
        order.sort(Comparator.comparingLong((Integer i) -> -sizes[i]).thenComparing(i -> i));
        long[] load = new long[ranks];
        int[] owner = new int[sizes.length];
        for (int i : order) {
            int best = -1;
            for (int k = 0; k < ranks; k++) {
                int r = Math.floorMod(first + k, ranks);
                if (best < 0 || load[r] < load[best]) best = r;
            }
            owner[i] = best;
            load[best] += sizes[i];
        }
        return owner;
    }
}
