package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The calibrated CPU entry plugs into the same cost model (the probe itself is a command, not a test). */
class CalibrationTest {
    private static final DeviceProbe.Measurement MACHINE =
            new DeviceProbe.Measurement(200e9, 40e9, 20e9, 16, 64_000_000_000L, "fixed numbers for the test");

    @Test
    void ranksShareTheMachine() {
        Hardware two = Calibration.hardware(MACHINE, 2);
        assertThat(two.mixedPrecisionPeak()).isEqualTo(100e9);
        assertThat(two.memory().bytes()).isEqualTo(32_000_000_000L);
        assertThat(two.network().devicesPerNode()).isEqualTo(2);
        assertThat(two.compute().units()).isEqualTo(8);
    }

    @Test
    void plansACpuRun() {
        ModelSpec small = ModelSpec.gpt("small", 6, 384, 6, 65, 256);
        CostModel cost = new CostModel(small, ClusterSpec.of(2, Calibration.hardware(MACHINE, 2)), 16);
        Prediction best = PlanSearch.search(cost, 1).best();
        assertThat(best.feasible()).isTrue();
        assertThat(best.mfu()).isBetween(0.01, 1.0);
        assertThat(best.stepSeconds()).isPositive();
    }

    @Test
    void aProbeThatGotHalfTheCoresIsScaledToTheWholeMachine() {
        // Measured with half of its threads' time: the machine alone does twice the measured rates.
        DeviceProbe.Measurement busy = new DeviceProbe.Measurement(100e9, 20e9, 10e9, 16, 64_000_000_000L, "busy", 0.5);
        Hardware one = Calibration.hardware(busy, 1), alone = Calibration.hardware(MACHINE, 1);
        assertThat(one.mixedPrecisionPeak()).isEqualTo(alone.mixedPrecisionPeak());
        assertThat(one.memory().bandwidth()).isEqualTo(alone.memory().bandwidth());
        assertThat(one.network().intraBandwidth()).isEqualTo(alone.network().intraBandwidth());
        assertThat(Calibration.describe(busy)).contains("50% of its threads' time");
    }
}
