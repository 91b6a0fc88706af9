package dev.tandem.nn;

import java.lang.foreign.MemorySegment;

/**
 * The ranks a tensor-parallel parameter is split across, with the three float32 collectives its
 * ops need. A parallel strategy implements it over a process group, so the model code needs no
 * communication layer. Every rank of the group calls the same collectives in the same order.
 */
public interface ShardGroup {
    int rank();

    int size();

    /** In place: every rank ends with the elementwise sum (bitwise the same on every rank). */
    void allReduceSum(MemorySegment buf, long count);

    /** {@code out} ({@code size()·countPerRank} floats) receives every rank's {@code in}, in rank order. */
    void allGather(MemorySegment in, MemorySegment out, long countPerRank);

    /** {@code in} holds {@code size()} blocks of {@code countPerRank} floats; rank r receives the sum of block r. */
    void reduceScatterSum(MemorySegment in, MemorySegment out, long countPerRank);
}
