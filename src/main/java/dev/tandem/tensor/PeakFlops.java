package dev.tandem.tensor;

import java.util.concurrent.atomic.DoubleAdder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures this machine's peak float32 FLOP/s: every thread of a worker pool runs chains
 * of independent vector FMAs (enough accumulators to cover FMA latency), nothing touches
 * memory. MFU figures divide by this measured peak, not by a datasheet number.
 */
public final class PeakFlops {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Floating-point operations per iteration of {@link #fmaChains}: 12 chains × lanes × 2. */
    public static final double FLOPS_PER_ITERATION = 12.0 * S.length() * 2;
    private static final java.util.Map<Integer, Double> CACHED = new java.util.concurrent.ConcurrentHashMap<>();
    /** Results land here so the JIT cannot discard the probe loops as dead code. */
    private static volatile float sink;

    private PeakFlops() {}

    /** The peak over all threads of a pool of {@code pool}'s size, measured once per process and size (about 0.3 s). */
    public static double measured(WorkerPool pool) {
        return CACHED.computeIfAbsent(pool.threads(), threads -> measure(pool, 300));
    }

    /**
     * Runs the probe on every pool thread for about {@code millis} ms and returns FLOP/s: the
     * best of three windows, since other processes can only lower the rate.
     */
    public static double measure(WorkerPool pool, long millis) {
        double best = 0;
        for (double rate : samples(pool, 3, millis / 3)) best = Math.max(best, rate);
        return best;
    }

    /**
     * FLOP/s of {@code windows} consecutive windows of about {@code millisEach} ms, all pool
     * threads running the probe. The probe method is first called often enough for C2 to compile
     * it (interpreted Vector API code allocates per operation and would be a hundred times slower).
     */
    public static double[] samples(WorkerPool pool, int windows, long millisEach) {
        pool.parallelFor(pool.threads(), 1, (a, b) -> {
            float local = 0;
            for (int i = 0; i < 2_000; i++) local += fmaChains(2_000);
            sink = local;
        });
        double[] rates = new double[windows];
        for (int w = 0; w < windows; w++) {
            DoubleAdder flops = new DoubleAdder();
            long start = System.nanoTime();
            pool.parallelFor(pool.threads(), 1, (a, b) -> {
                for (int t = a; t < b; t++) {
                    long iterations = 0;
                    float local = 0;
                    long deadline = System.nanoTime() + millisEach * 1_000_000L;
                    while (System.nanoTime() < deadline) {
                        local += fmaChains(20_000);
                        iterations += 20_000;
                    }
                    sink = local;
                    flops.add(iterations * FLOPS_PER_ITERATION);
                }
            });
            rates[w] = flops.sum() / ((System.nanoTime() - start) / 1e9);
        }
        return rates;
    }

    /**
     * 12 independent FMA chains of {@code iterations} steps ({@link #FLOPS_PER_ITERATION} each):
     * enough to hide a 4-cycle FMA latency on two FMA ports. Also the GEMM benchmark's probe.
     */
    public static float fmaChains(long iterations) {
        FloatVector a = FloatVector.broadcast(S, 0.999f), b = FloatVector.broadcast(S, 1e-6f);
        FloatVector c0 = FloatVector.broadcast(S, 1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (long i = 0; i < iterations; i++) {
            c0 = c0.fma(a, b); c1 = c1.fma(a, b); c2 = c2.fma(a, b); c3 = c3.fma(a, b);
            c4 = c4.fma(a, b); c5 = c5.fma(a, b); c6 = c6.fma(a, b); c7 = c7.fma(a, b);
            c8 = c8.fma(a, b); c9 = c9.fma(a, b); c10 = c10.fma(a, b); c11 = c11.fma(a, b);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
