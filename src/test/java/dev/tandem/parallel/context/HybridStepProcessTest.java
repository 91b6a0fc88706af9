package dev.tandem.parallel.context;

import org.junit.jupiter.api.Test;

/**
 * A step of mixed-length sequences on 4 rank processes (sequences of 41 and 33 tokens across 3
 * ranks each by ring attention, 20 across 2, the short ones packed on one rank, different numbers
 * of micro-batches per rank) gives the loss and gradients of one rank; so do static context
 * parallelism (two rings of two) and padded data parallelism (two rows per micro-batch) on the same pool. See {@link HybridRank}.
 */
class HybridStepProcessTest {
    @Test
    void hybridStaticAndPaddedEqualOneRank() throws Exception {
        RankProcesses.run(HybridRank.class, 4);
    }
}
