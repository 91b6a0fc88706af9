package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** FLOP and parameter counts against the closed forms of Narayanan et al. 2021. */
class FlopsModelTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({"megatron-1.7b, 512, 1.7", "megatron-7.5b, 512, 7.5", "megatron-39.1b, 1536, 39.1",
            "megatron-145.6b, 2304, 145.6", "megatron-1t, 3072, 1008.0"})
    void matchesNarayananFormulas(String name, int batch, double paramsBillions) {
        ModelSpec m = ModelCatalog.get(name);
        double B = batch, s = m.seq(), l = m.layers(), h = m.hidden(), V = m.vocab();
        double full = 96 * B * s * l * h * h * (1 + s / (6 * h) + V / (16 * l * h));
        double none = 72 * B * s * l * h * h * (1 + s / (6 * h) + V / (12 * l * h));
        assertThat(FlopsModel.hardware(m, batch, Recompute.FULL)).isCloseTo(full, within(full * 1e-12));
        assertThat(FlopsModel.model(m, batch)).isCloseTo(none, within(none * 1e-12));
        assertThat(FlopsModel.hardware(m, batch, Recompute.SELECTIVE))
                .isGreaterThan(FlopsModel.model(m, batch)).isLessThan(FlopsModel.hardware(m, batch, Recompute.FULL));

        double p = 12 * l * h * h * (1 + 13 / (12 * h) + (V + s) / (12 * l * h));
        assertThat((double) m.params()).isCloseTo(p, within(1.0));
        // The paper rounds its parameter counts; the shapes must give the same size to 3%.
        assertThat(m.params() / 1e9).isCloseTo(paramsBillions, within(0.03 * paramsBillions));
    }

    /** ParScale: P streams cost P× the layers' FLOPs (attention over the prefix too) but the output layer once; the parameters grow by the prefixes and the aggregation. */
    @Test
    void parScaleCountsPTimesTheLayersAndItsExtraParameters() {
        ModelSpec one = ModelSpec.gpt("small", 4, 192, 4, 2048, 128);
        ModelSpec four = one.withParScale(4, 48);
        double s = 128, h = 192, l = 4, f = 4 * h, V = 2048;
        double layer = 4 * (2 * s * (4 * h * h + 2 * h * f) + 4 * s * (s + 48) * h);
        double output = 2 * s * h * V + 2 * s * (4 * h * h + h + h * 4 + 4);
        assertThat(FlopsModel.model(four, 8)).isCloseTo(8 * 3 * (l * layer + output), within(1.0));
        assertThat(FlopsModel.model(four, 8) / FlopsModel.model(one, 8)).isBetween(3.0, 4.0);
        long extra = (long) (l * 2 * 4 * 48 * h + 4 * h * h + h + h * 4 + 4);
        assertThat(four.params() - one.params()).isEqualTo(extra);
        assertThat(one.withParScale(1, 48)).isEqualTo(one);
    }
}
