package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The adaptive spin budget: grows while peers answer within it, shrinks when they do not. */
class WaitPolicyTest {
    @Test
    void waitsEndingWithinTheBudgetDoubleItUpToTheMaximum() {
        WaitPolicy w = new WaitPolicy(false);
        long start = w.spinNanos();
        w.ended(0);
        assertThat(w.spinNanos()).isEqualTo(2 * start);
        for (int i = 0; i < 64; i++) w.ended(0);
        assertThat(w.spinNanos()).isEqualTo(WaitPolicy.MAX_SPIN_NANOS);
    }

    @Test
    void waitsOutlastingTheBudgetQuarterItDownToTheMinimum() {
        WaitPolicy w = new WaitPolicy(false);
        for (int i = 0; i < 64; i++) w.ended(0);
        w.ended(WaitPolicy.MAX_SPIN_NANOS); // exactly the budget: the spin was not enough
        assertThat(w.spinNanos()).isEqualTo(WaitPolicy.MAX_SPIN_NANOS / 4);
        for (int i = 0; i < 64; i++) w.ended(1_000_000_000L);
        assertThat(w.spinNanos()).isEqualTo(WaitPolicy.MIN_SPIN_NANOS);
        w.ended(WaitPolicy.MIN_SPIN_NANOS - 1); // a peer on another core again: spinning pays, grow
        assertThat(w.spinNanos()).isEqualTo(2 * WaitPolicy.MIN_SPIN_NANOS);
    }

    @Test
    void ranksOutnumberingTheCoresNeverSpin() {
        WaitPolicy w = new WaitPolicy(true);
        assertThat(w.spinNanos()).isZero();
        for (int i = 0; i < 8; i++) w.ended(0);
        assertThat(w.spinNanos()).isZero();
    }
}
