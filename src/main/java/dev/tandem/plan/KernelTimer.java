package dev.tandem.plan;

/**
 * Time of one kernel on one device, from its shape: a roofline (compute vs memory traffic) where
 * the compute side is scaled by how well the GEMM's shape fills the device.
 *
 * <p>GEMM efficiency = best matmul efficiency × tile fill (M and N padded to whole tiles) × wave
 * fill (tiles spread over the compute units, last wave partly idle) × K ramp (each tile pays a
 * pipeline prologue/epilogue worth {@value #K_OVERHEAD} steps of K). Padding is taken at its
 * expected value (half a tile, half a wave) so that the curve is smooth in the shape and the
 * search does not chase divisibility accidents.
 */
public final class KernelTimer {
    /** Prologue + epilogue of one output tile, in units of the K dimension (a few 32-deep stages plus the store). */
    static final double K_OVERHEAD = 128;

    private final Hardware hw;
    private final double peak;
    private final double memBandwidth;

    public KernelTimer(Hardware hw) {
        this(hw, hw.mixedPrecisionPeak());
    }

    /** A timer whose GEMMs run at {@code peak} FLOP/s (the peak of the precision they run in). */
    public KernelTimer(Hardware hw, double peak) {
        this.hw = hw;
        this.peak = peak;
        this.memBandwidth = hw.memory().bandwidth() * hw.memory().efficiency();
    }

    /** The same device with GEMMs at another precision's peak. */
    public KernelTimer withPeak(double gemmPeak) {
        return new KernelTimer(hw, gemmPeak);
    }

    public Hardware hardware() {
        return hw;
    }

    /** Fraction of peak a (batch of) M×N×K GEMM(s) reaches when compute-bound. */
    public double gemmEfficiency(double m, double n, double k, double batch) {
        Hardware.Compute c = hw.compute();
        double tileFill = fill(m, c.tileM()) * fill(n, c.tileN());
        double tiles = Math.max(1, m / c.tileM()) * Math.max(1, n / c.tileN()) * batch;
        double waves = tiles / c.units();
        double waveFill = waves / Math.max(1, waves + 0.5);
        double kRamp = k / (k + K_OVERHEAD);
        return c.matmulEfficiency() * tileFill * waveFill * kRamp;
    }

    /** Expected fraction of a padded dimension that is useful: x / (x rounded up to tiles, on average x + tile/2). */
    private static double fill(double x, double tile) {
        return x / Math.max(tile, x + tile / 2);
    }

    /** Seconds for {@code batch} GEMMs of M×N×K in 16-bit: max of compute time and memory time, plus a launch. */
    public double gemm(double m, double n, double k, double batch) {
        double flops = 2 * m * n * k * batch;
        double bytes = 2 * (m * k + k * n + m * n) * batch;
        double compute = flops / (peak * gemmEfficiency(m, n, k, batch));
        double memory = bytes / memBandwidth;
        return Math.max(compute, memory) + hw.compute().launchSeconds();
    }

    /** Seconds of the compute side alone of {@code batch} M×N×K GEMMs (no launch, no memory bound): for fused kernels. */
    public double gemmCompute(double m, double n, double k, double batch) {
        return 2 * m * n * k * batch / (peak * gemmEfficiency(m, n, k, batch));
    }

    public double launch() {
        return hw.compute().launchSeconds();
    }

    /** Seconds for a memory-bound (element-wise, normalization, softmax) kernel moving {@code bytes}. */
    public double memoryBound(double bytes) {
        return bytes / memBandwidth + hw.compute().launchSeconds();
    }

    /** Seconds to stream {@code bytes} through device memory without a kernel launch of its own (counted elsewhere). */
    public double stream(double bytes) {
        return bytes / memBandwidth;
    }
}
