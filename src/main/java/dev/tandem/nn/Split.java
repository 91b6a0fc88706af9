package dev.tandem.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where one rank's part of a parameter sits in the whole (logical) tensor: dimension {@code dim}
 * of {@code fullShape} consists of {@code blocks} equal blocks, and the rank holds part
 * {@code index} of {@code count} equal parts of every block. One block is the usual column or
 * row split; three blocks describe a fused q|k|v weight where each rank takes its heads' columns
 * from each of q, k and v. {@code count == 1} is the whole tensor. Plain data: checkpoints record
 * it so that a tensor saved at one split loads at another.
 */
public record Split(int[] fullShape, int dim, int blocks, int index, int count) {

    /** A contiguous run of elements: {@code length} elements from {@code local} in the part are those from {@code full} in the whole. */
    public record Run(long local, long full, long length) {}

    public Split {
        fullShape = fullShape.clone();
        for (int d : fullShape) if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(fullShape));
        if (dim < 0 || dim >= fullShape.length) throw new IllegalArgumentException("split dim " + dim + " of " + Arrays.toString(fullShape));
        if (count < 1 || index < 0 || index >= count || blocks < 1 || fullShape[dim] % ((long) blocks * count) != 0) {
            throw new IllegalArgumentException("cannot take part " + index + " of " + count + " of each of " + blocks
                    + " blocks of dim " + dim + " of " + Arrays.toString(fullShape));
        }
    }

    /** The whole tensor, not split. */
    public static Split whole(int[] shape) {
        return new Split(shape, 0, 1, 0, 1);
    }

    public boolean isWhole() {
        return count == 1;
    }

    @Override
    public int[] fullShape() {
        return fullShape.clone();
    }

    /** The shape of the part a rank holds. */
    public int[] localShape() {
        int[] s = fullShape.clone();
        s[dim] /= count;
        return s;
    }

    public long localNumel() {
        return numel(localShape());
    }

    /** The same split as seen by the rank holding part {@code i}. */
    public Split part(int i) {
        return new Split(fullShape, dim, blocks, i, count);
    }

    /**
     * Elements [lo, lo + len) of the part as runs that are contiguous in both the part and the
     * whole tensor, in increasing order of both (the map from part to whole is monotone).
     */
    public List<Run> runs(long lo, long len) {
        if (lo < 0 || len < 0 || lo + len > localNumel()) {
            throw new IndexOutOfBoundsException("elements [" + lo + ", " + (lo + len) + ") of a part of " + localNumel());
        }
        List<Run> out = new ArrayList<>();
        if (len == 0) return out;
        if (isWhole()) {
            out.add(new Run(lo, lo, len));
            return out;
        }
        long inner = numel(Arrays.copyOfRange(fullShape, dim + 1, fullShape.length));
        long blockLen = fullShape[dim] / blocks, part = blockLen / count;
        long runLen = part * inner;
        for (long q = lo / runLen; q * runLen < lo + len; q++) {
            long a = Math.max(lo, q * runLen), b = Math.min(lo + len, (q + 1) * runLen);
            long full = (q * blockLen + index * part) * inner + (a - q * runLen);
            out.add(new Run(a, full, b - a));
        }
        return out;
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Split s && Arrays.equals(fullShape, s.fullShape) && (isWhole() && s.isWhole()
                || dim == s.dim && blocks == s.blocks && index == s.index && count == s.count);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(fullShape) * 31 + (isWhole() ? 0 : java.util.Objects.hash(dim, blocks, index, count));
    }

    @Override
    public String toString() {
        return isWhole() ? "whole" + Arrays.toString(fullShape)
                : "part " + index + "/" + count + " of dim " + dim + (blocks > 1 ? " (" + blocks + " blocks)" : "") + " of "
                + Arrays.toString(fullShape);
    }
}
