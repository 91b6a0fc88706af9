package dev.tandem.plan;

import java.util.Locale;
import java.util.Map;

/**
 * Turns a {@link DeviceProbe.Measurement} of this machine into a {@link Hardware} entry for
 * {@code ranks} Tandem ranks on it (each rank gets its share of cores, memory and bandwidth), so
 * the same cost model plans CPU runs. Compute is FP32 (Tandem's kernels compute in float32); the
 * measured GEMM rate is already an achieved rate, so its matmul efficiency is 1. Between hosts
 * Tandem uses TCP: 10 GbE (1.25 GB/s, 50 µs) is assumed. The rates are scaled to the whole machine:
 * a probe that got a share s of its threads' time (the machine busy with other work) measured s of
 * them; a run then compares its step with the prediction at the share it got itself.
 */
public final class Calibration {
    private Calibration() {}

    /** The name of a calibrated entry. */
    static final String NAME = "CPU";

    /** Whether {@code hw} describes this machine as measured (rather than a catalog accelerator). */
    public static boolean isCalibrated(Hardware hw) {
        return hw.name().equals(NAME);
    }

    public static Hardware hardware(DeviceProbe.Measurement m, int ranks) {
        int perHost = Math.max(1, ranks);
        double share = 1.0 / perHost;
        int coresPerRank = Math.max(1, m.cores() / perHost);
        double alone = 1 / m.cpuShare();
        return new Hardware(NAME,
                new Hardware.Compute(Map.of(Precision.FP32, m.gemmFlops() * alone * share), coresPerRank, 6, 32, 1.0, 2e-6),
                new Hardware.Memory((long) (m.memoryBytes() * share), m.memoryBandwidth() * alone * share, 1.0, 256L << 20),
                new Hardware.Network(perHost, m.copyBandwidth() * alone / 2, 10e-6, 1.25e9, 50e-6, 1.0, 0.9),
                new Hardware.Host(m.memoryBandwidth() * alone * share, m.memoryBytes(), m.memoryBandwidth() * alone),
                "measured: " + m.method());
    }

    public static String describe(DeviceProbe.Measurement m) {
        return String.format(Locale.ROOT,
                "This machine: %d cores, %.1f GB memory; GEMM %.1f GFLOP/s (FP32), memory bandwidth %.1f GB/s, "
                        + "one-core copy %.1f GB/s (shared-memory transport ≈ half: copy in, copy out), measured with %.0f%% of its "
                        + "threads' time (the planner scales to the whole machine)%n  method: %s",
                m.cores(), m.memoryBytes() / 1e9, m.gemmFlops() / 1e9, m.memoryBandwidth() / 1e9, m.copyBandwidth() / 1e9,
                100 * m.cpuShare(), m.method());
    }
}
