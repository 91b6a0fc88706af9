package dev.tandem.plan;

/**
 * Measures the machine the planner runs on. The plan package depends on nothing else in Tandem,
 * so the implementation that uses Tandem's own kernels (dev.tandem.train.TandemProbe) is passed
 * in from outside.
 */
public interface DeviceProbe {

    /**
     * Measured numbers for the whole machine.
     *
     * @param cpuShare the share of its threads' time the probe got from the operating system while it
     *     timed (process CPU time ÷ (wall time × threads)): below 1 when other work shares the cores,
     *     so the rates above are that share of what the machine does alone
     */
    record Measurement(double gemmFlops, double memoryBandwidth, double copyBandwidth, int cores, long memoryBytes,
                       String method, double cpuShare) {
        public Measurement {
            if (!(cpuShare > 0 && cpuShare <= 1)) throw new PlanInputException("cpu share must be in (0, 1], got " + cpuShare);
        }

        /** A measurement that had the cores to itself. */
        public Measurement(double gemmFlops, double memoryBandwidth, double copyBandwidth, int cores, long memoryBytes, String method) {
            this(gemmFlops, memoryBandwidth, copyBandwidth, cores, memoryBytes, method, 1);
        }
    }

    Measurement measure();
}
