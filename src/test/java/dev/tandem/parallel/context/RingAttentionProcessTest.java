package dev.tandem.parallel.context;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ring attention across rank processes (real transports): on 2 and 4 ranks each rank's outputs
 * and q/k/v gradients equal single-rank attention for lengths 8, 13, 24 and 37 (13 and 37 are not
 * divisible by 2·cp), within {@link RingAttentionCheck#TOLERANCE}.
 */
class RingAttentionProcessTest {
    @ParameterizedTest(name = "{0} rank processes")
    @ValueSource(ints = {2, 4})
    void equalsSingleRankAttention(int ranks) throws Exception {
        RankProcesses.run(RingAttentionRank.class, ranks);
    }
}
