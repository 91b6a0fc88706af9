package dev.tandem.plan;

/**
 * Measures the machine the planner runs on. The plan package depends on nothing else in Tandem,
 * so the implementation that uses Tandem's own kernels (dev.tandem.train.TandemProbe) is passed
 * in from outside.
 */
public interface DeviceProbe {

    /** Measured numbers for the whole machine. */
    record Measurement(double gemmFlops, double memoryBandwidth, double copyBandwidth, int cores, long memoryBytes,
                       String method) {}

    Measurement measure();
}
