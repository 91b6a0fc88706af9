package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The component sums of {@link ActivationMemory} equal Korthikanti et al.'s closed forms
 * (reference file), for shapes of the published runs and a few odd ones.
 */
class ActivationMemoryTest {

    @ParameterizedTest(name = "s={0} b={1} h={2} a={3} t={4}")
    @CsvSource({
            "2048, 16, 2304, 24, 1",
            "2048, 1, 25600, 160, 8",
            "2048, 2, 12288, 96, 8",
            "4096, 3, 4096, 32, 4",
            "512, 7, 768, 12, 2",
    })
    void matchesTheClosedForms(int s, int b, int h, int a, int t) {
        ModelSpec m = ModelSpec.gpt("x", 4, h, a, 51200, s);
        double sbh = (double) s * b * h, as_h = (double) a * s / h;
        double tol = 1e-9 * sbh * 100;

        assertThat(ActivationMemory.perLayer(m, b, 1, false, Recompute.NONE))
                .isCloseTo(sbh * (34 + 5 * as_h), within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, false, Recompute.NONE))
                .isCloseTo(sbh * (10 + 24.0 / t + 5 * as_h / t), within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, true, Recompute.NONE))
                .isCloseTo(sbh / t * (34 + 5 * as_h), within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, false, Recompute.SELECTIVE))
                .isCloseTo(sbh * (10 + 24.0 / t), within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, true, Recompute.SELECTIVE))
                .isCloseTo(34 * sbh / t, within(tol));
        assertThat(ActivationMemory.perLayer(m, b, t, false, Recompute.FULL))
                .isCloseTo(2 * sbh, within(tol));
    }
}
