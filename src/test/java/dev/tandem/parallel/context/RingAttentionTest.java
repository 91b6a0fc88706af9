package dev.tandem.parallel.context;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.tensor.TestKernels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Ring attention on rank threads (the quick form of {@link RingAttentionProcessTest}): outputs and
 * gradients equal single-rank attention for lengths divisible by 2·cp and not, with the fast and
 * the reference kernels.
 */
class RingAttentionTest {
    @ParameterizedTest(name = "cp = {0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void equalsSingleRankAttention(int cp) {
        LocalWorld.run(cp, CommOptions.defaults(), ring -> {
            RingAttentionCheck.run(ring, TestKernels.FAST);
            RingAttentionCheck.run(ring, TestKernels.REFERENCE);
        });
    }

    /** Rank r holds chunks r and 2cp − 1 − r: under a causal mask every rank gets the same number of (query, key) pairs, ± rounding. */
    @Test
    void mirroredChunksBalanceCausalWork() {
        Chunks chunks = new Chunks(1003, 4);
        long least = Long.MAX_VALUE, most = 0;
        for (int r = 0; r < 4; r++) {
            long pairs = 0;
            for (int p : chunks.positions(r)) pairs += p + 1;
            least = Math.min(least, pairs);
            most = Math.max(most, pairs);
        }
        assertThat((double) most / least).isLessThan(1.01);
        assertThat(chunks.rows(0) + chunks.rows(1) + chunks.rows(2) + chunks.rows(3)).isEqualTo(1003);
    }

    @Test
    void tooShortForTheChunksIsRefused() {
        assertThatThrownBy(() -> new Chunks(7, 4)).hasMessageContaining("at least 8 tokens");
    }
}
