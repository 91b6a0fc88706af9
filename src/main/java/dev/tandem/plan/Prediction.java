package dev.tandem.plan;

/**
 * What the cost model says about one plan for one model, cluster and global batch.
 *
 * @param hardwareFlops FLOPs executed per step, recomputation included (Narayanan et al.'s convention)
 * @param modelFlops FLOPs per step without recomputation (PaLM's convention, for MFU)
 * @param rejection why the plan cannot run (does not fit, host memory too small), or null
 */
public record Prediction(Plan plan, MemoryBreakdown memory, TimeBreakdown time,
                         double hardwareFlops, double modelFlops, double peakFlops, int devices, String rejection) {

    public boolean feasible() {
        return rejection == null;
    }

    public double stepSeconds() {
        return time.total();
    }

    /** Executed TFLOP/s per device (the number Megatron-LM papers report). */
    public double tflopsPerDevice() {
        return hardwareFlops / stepSeconds() / devices / 1e12;
    }

    /** Model FLOPs utilization: useful FLOP/s over the devices' peak. */
    public double mfu() {
        return modelFlops / stepSeconds() / devices / peakFlops;
    }

    /** Hardware FLOPs utilization: executed FLOP/s over peak. */
    public double hfu() {
        return hardwareFlops / stepSeconds() / devices / peakFlops;
    }
}
