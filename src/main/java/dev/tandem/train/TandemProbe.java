package dev.tandem.train;

import dev.tandem.plan.DeviceProbe;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;

/**
 * Measures this machine with Tandem's own kernels, so the planner's CPU entry describes what
 * the runtime can actually do: GEMM throughput of the fast kernel (1024³, all pool threads),
 * memory bandwidth from segment copies on all threads and on one thread (what a shared-memory
 * transport does per message). Best of a few repetitions after warm-up (until the compiled
 * kernel's rate levels off); two to three seconds in a fresh process.
 */
public final class TandemProbe implements DeviceProbe {
    private static final int N = 1024, REPEATS = 4;
    /**
     * Warm-up lasts at least the minimum (in a process that has just compiled much else, the
     * kernel waits in the compiler's queue while the slower tier's rate stays flat) and ends after
     * this many calls without a new best rate (by 5%), or at the limit. Runs reuse the result for
     * a while ({@code RecentProbe}), so a thorough probe costs little.
     */
    private static final int WARMUP_FLAT = 8;
    private static final long WARMUP_MIN_NANOS = 2_000_000_000L, WARMUP_LIMIT_NANOS = 5_000_000_000L;
    private static final long COPY_BYTES = 64L << 20;

    private final Kernels kernels;

    /** Measures with {@code kernels}' GEMM, on their pool's threads. */
    public TandemProbe(Kernels kernels) {
        this.kernels = kernels;
    }

    @Override
    public Measurement measure() {
        int threads = kernels.pool().threads();
        CpuShare during = CpuShare.start(threads);
        double gemm = gemmFlops();
        double share = during.share(); // while every pool thread multiplies: what the OS gave the probe
        double one = copyBandwidth(1);
        double all = Math.max(one, copyBandwidth(threads));
        long memory = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getTotalMemorySize() : Runtime.getRuntime().maxMemory();
        return new Measurement(gemm, all, one, Runtime.getRuntime().availableProcessors(), memory,
                "Tandem GEMM " + N + "³ on " + threads + " threads; segment copies of " + (COPY_BYTES >> 20) + " MiB", share);
    }

    private double gemmFlops() {
        try (Tensor a = Tensor.zeros(MemoryCategory.OTHER, N, N); Tensor b = Tensor.zeros(MemoryCategory.OTHER, N, N);
             Tensor c = Tensor.zeros(MemoryCategory.OTHER, N, N)) {
            a.fill(0.5f);
            b.fill(0.25f);
            // Smaller calls first, until C2 has compiled the kernel: in a fresh process the rate
            // climbs for about a second while the compiler works, and a probe timed before that
            // read 119 GFLOP/s where the compiled kernel does 300 (2 threads, Zen 5).
            double bestSmall = 0;
            long start = System.nanoTime(), deadline = start + WARMUP_LIMIT_NANOS;
            for (int flat = 0; (flat < WARMUP_FLAT || System.nanoTime() - start < WARMUP_MIN_NANOS) && System.nanoTime() < deadline; ) {
                long t0 = System.nanoTime();
                kernels.gemm(false, false, N / 2, N / 2, N / 2, 1f, a.data(), 0, N, b.data(), 0, N, 0f, c.data(), 0, N);
                double rate = 1.0 / (System.nanoTime() - t0);
                flat = rate > 1.05 * bestSmall ? 0 : flat + 1;
                bestSmall = Math.max(bestSmall, rate);
            }
            double best = 0;
            for (int rep = 0; rep < REPEATS; rep++) {
                long t0 = System.nanoTime();
                kernels.gemm(false, false, N, N, N, 1f, a.data(), 0, N, b.data(), 0, N, 0f, c.data(), 0, N);
                best = Math.max(best, 2.0 * N * N * N / ((System.nanoTime() - t0) / 1e9));
            }
            return best;
        }
    }

    private double copyBandwidth(int threads) {
        try (Tensor src = Tensor.allocate(dev.tandem.tensor.DType.U8, MemoryCategory.OTHER, (int) COPY_BYTES);
             Tensor dst = Tensor.allocate(dev.tandem.tensor.DType.U8, MemoryCategory.OTHER, (int) COPY_BYTES)) {
            MemorySegment s = src.data(), d = dst.data();
            double best = 0;
            for (int rep = 0; rep <= REPEATS; rep++) {
                long t0 = System.nanoTime();
                kernels.pool().parallelFor(threads, 1, (t0i, t1i) -> {
                    for (int t = t0i; t < t1i; t++) {
                        long chunk = COPY_BYTES / threads;
                        MemorySegment.copy(s, t * chunk, d, t * chunk, chunk);
                    }
                });
                double secs = (System.nanoTime() - t0) / 1e9;
                // Bytes moved: read plus write.
                if (rep > 0) best = Math.max(best, 2.0 * COPY_BYTES / secs);
            }
            return best;
        }
    }
}
