package dev.tandem.nn;

/**
 * How a parameter is distributed for tensor parallelism, set by a parallel strategy and read by
 * {@link Ops}, which picks the op's parallel form from it (as DTensor placements do): the
 * {@link Split} says which part this rank holds, {@code group} the ranks holding the other parts.
 * The split's dimension gives the form: a linear weight [in, out] split along dim 1 is
 * column-parallel, along dim 0 row-parallel; the token embedding split along dim 0 is
 * vocabulary-parallel.
 *
 * @param sequenceParallel whether the activations on the op's unsplit side (the input of a
 *                         column-parallel op or of the output head, the output of a row-parallel
 *                         op or of the embedding) are split by rows across the group instead of
 *                         replicated
 */
public record Sharding(Split split, boolean sequenceParallel, ShardGroup group) {
    public Sharding {
        if (split.count() != group.size() || split.index() != group.rank()) {
            throw new IllegalArgumentException(split + " does not match rank " + group.rank() + " of a group of " + group.size());
        }
    }
}
