package dev.tandem.plan;

/**
 * Measures the machine the planner runs on. The planner calls it through this interface so that
 * Tandem's own GEMM kernels and collectives can replace the self-contained {@link JavaProbe} once
 * they exist, without the plan package depending on them (the CLI would pass that implementation in).
 */
public interface DeviceProbe {

    /** Measured numbers for the whole machine. */
    record Measurement(double gemmFlops, double memoryBandwidth, double copyBandwidth, int cores, long memoryBytes,
                       String method) {}

    Measurement measure();
}
