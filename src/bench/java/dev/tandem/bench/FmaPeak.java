package dev.tandem.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measured FMA peak of this machine: every thread runs 12 independent chains of vector FMAs
 * (far more than latency × throughput, so the FMA pipes are the only limit) with no memory
 * traffic. This is the ceiling any GEMM on these cores can reach, measured rather than taken
 * from a data sheet (clocks under load, virtualisation and shared cores all show up in it).
 */
public final class FmaPeak {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int CHAINS = 12;

    private FmaPeak() {}

    /** Median GFLOPS over {@code reps} runs of about {@code seconds} each on {@code threads} threads. */
    public static Stats measure(int threads, int reps, double seconds) throws Exception {
        long iters = calibrate(seconds);
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "fma-peak");
            t.setDaemon(true);
            return t;
        });
        try {
            double[] gflops = new double[reps];
            for (int r = 0; r < reps; r++) {
                List<Callable<Float>> work = new ArrayList<>();
                for (int t = 0; t < threads; t++) work.add(() -> chains(iters));
                long t0 = System.nanoTime();
                float sink = 0;
                for (Future<Float> f : pool.invokeAll(work)) sink += f.get();
                long ns = System.nanoTime() - t0;
                if (sink == 42f) System.out.print(""); // keep the result alive
                gflops[r] = (double) threads * iters * CHAINS * S.length() * 2 / ns;
            }
            return Stats.of(gflops);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Single-thread peak in GFLOPS per CPU-second of the calling thread (robust to other load). */
    public static Stats measureCpuTime(int reps, double seconds) {
        long iters = calibrate(seconds);
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        double[] gflops = new double[reps];
        float sink = 0;
        for (int r = 0; r < reps; r++) {
            long c0 = mx.getCurrentThreadCpuTime();
            sink += chains(iters);
            gflops[r] = (double) iters * CHAINS * S.length() * 2 / (mx.getCurrentThreadCpuTime() - c0);
        }
        if (sink == 42f) System.out.print(""); // keep the result alive
        return Stats.of(gflops);
    }

    /** Iterations that take about {@code seconds} on one thread (also warms the JIT up). */
    private static long calibrate(double seconds) {
        // Enough calls that C2 compiles the whole method (not just an on-stack replacement of
        // the loop), so worker threads run the compiled code from their first call.
        for (int i = 0; i < 200; i++) chains(1 << 12);
        long iters = 1 << 16;
        while (true) {
            long t0 = System.nanoTime();
            chains(iters);
            long ns = System.nanoTime() - t0;
            if (ns > 50_000_000L) return Math.max(1, (long) (iters * seconds * 1e9 / ns));
            iters *= 2;
        }
    }

    private static float chains(long iters) {
        FloatVector x = FloatVector.broadcast(S, 0.999999f), y = FloatVector.broadcast(S, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(S, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        FloatVector a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(x, y); a1 = a1.fma(x, y); a2 = a2.fma(x, y); a3 = a3.fma(x, y);
            a4 = a4.fma(x, y); a5 = a5.fma(x, y); a6 = a6.fma(x, y); a7 = a7.fma(x, y);
            a8 = a8.fma(x, y); a9 = a9.fma(x, y); a10 = a10.fma(x, y); a11 = a11.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
