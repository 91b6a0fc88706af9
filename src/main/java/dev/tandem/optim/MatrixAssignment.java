package dev.tandem.optim;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which rank orthogonalizes (Muon) or preconditions (SOAP) each whole matrix under ZeRO. Matrix
 * optimizers cannot work on an arbitrary shard of a flattened parameter, so the reference gives
 * whole matrices to ranks: sorted by size, largest first, dealt round-robin (matrix i of the
 * sorted list to rank i mod ranks), which keeps the work per rank within one matrix of equal.
 * Each rank updates its matrices, then the updated values are all-gathered so every rank holds
 * all parameters again. The element-wise parameters (1-D, embeddings) stay ordinary shards.
 */
public final class MatrixAssignment {
    private MatrixAssignment() {}

    /** A matrix to place: its name and element count. */
    public record Matrix(String name, long numel) {}

    /**
     * The owning rank of each matrix, in the order given. Ties in size keep their input order,
     * so every rank computes the same assignment from the same list.
     */
    public static int[] assign(List<Matrix> matrices, int ranks) {
        if (ranks < 1) throw new IllegalArgumentException("ranks must be >= 1, got " + ranks);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < matrices.size(); i++) order.add(i);
        order.sort(Comparator.comparingLong((Integer i) -> -matrices.get(i).numel()).thenComparing(i -> i));
        int[] owner = new int[matrices.size()];
        for (int k = 0; k < order.size(); k++) owner[order.get(k)] = k % ranks;
        return owner;
    }

    /** The same for slices (each must describe a whole parameter; its full shape gives its size). */
    public static int[] assignSlices(List<ParamSlice> slices, int ranks) {
        List<Matrix> ms = new ArrayList<>();
        for (ParamSlice s : slices) {
            long n = 1;
            for (int d : s.shape()) n *= d;
            ms.add(new Matrix(s.name(), n));
        }
        return assign(ms, ranks);
    }

    /** The slices rank {@code rank} owns under {@link #assignSlices}. */
    public static List<ParamSlice> owned(List<ParamSlice> slices, int ranks, int rank) {
        int[] owner = assignSlices(slices, ranks);
        List<ParamSlice> out = new ArrayList<>();
        for (int i = 0; i < slices.size(); i++) if (owner[i] == rank) out.add(slices.get(i));
        return out;
    }
}
