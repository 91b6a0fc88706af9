package dev.tandem.parallel.islands;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** NoLoCo's pairs: every island in exactly one, the same pairs on every rank, and not the same pairs every time. */
class PairingTest {
    @Test
    void everyIslandIsInExactlyOnePairAndAllRanksAgree() {
        for (int islands : new int[] {2, 4, 6, 8}) {
            for (long step = 1; step <= 200; step++) {
                int[] order = Pairing.order(islands, step);
                assertThat(order).containsExactlyInAnyOrder(java.util.stream.IntStream.range(0, islands).toArray());
                for (int i = 0; i < islands; i++) {
                    int peer = Pairing.peer(islands, step, i);
                    assertThat(peer).isNotEqualTo(i);
                    assertThat(Pairing.peer(islands, step, peer)).isEqualTo(i); // symmetric: one pair
                }
                // Computed again (as another rank does, with no communication): the same.
                assertThat(Pairing.order(islands, step)).isEqualTo(order);
            }
        }
    }

    @Test
    void thePairsChangeFromStepToStep() {
        Set<Integer> peersOfZero = new HashSet<>();
        for (long step = 1; step <= 50; step++) peersOfZero.add(Pairing.peer(8, step, 0));
        assertThat(peersOfZero).hasSizeGreaterThan(4);
    }
}
