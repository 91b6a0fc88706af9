package dev.tandem.parallel.context;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import org.junit.jupiter.api.Test;

/** The fit behind the measured cost model: exact on exact data, never a negative term. */
class CostProbeTest {
    private static final int[] LENGTHS = {512, 1024, 2048};

    @Test
    void recoversBothTermsFromExactTimes() {
        SequenceCost truth = new SequenceCost(2e-6, 3e-9);
        double[] t = new double[LENGTHS.length];
        for (int i = 0; i < t.length; i++) t[i] = truth.of(LENGTHS[i]);
        SequenceCost fit = CostProbe.fit(LENGTHS, t);
        assertThat(fit.perToken()).isCloseTo(2e-6, offset(1e-12));
        assertThat(fit.perPair()).isCloseTo(3e-9, offset(1e-15));
    }

    /** Times growing faster than L² (noise, caches) would give a negative per-token term: it is dropped and the pair term refitted. */
    @Test
    void keepsBothTermsNonNegative() {
        double[] superQuadratic = new double[LENGTHS.length];
        for (int i = 0; i < LENGTHS.length; i++) superQuadratic[i] = Math.pow(LENGTHS[i], 2.5) * 1e-12;
        SequenceCost fit = CostProbe.fit(LENGTHS, superQuadratic);
        assertThat(fit.perToken()).isZero();
        assertThat(fit.perPair()).isPositive();
        assertThat(CostProbe.fit(LENGTHS, new double[] {0, 0, 0})).isNull();
    }
}
