package dev.tandem.bench.peer;

import dev.tandem.tensor.PeakFlops;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measured FMA peak of this machine, with the probe of {@link PeakFlops} (independent vector FMA
 * chains, no memory traffic) on a chosen number of threads or per CPU-second of one thread. This
 * is the ceiling any GEMM on these cores can reach, measured rather than taken from a data sheet
 * (clocks under load, virtualisation and shared cores all show up in it).
 */
public final class FmaPeak {
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
                gflops[r] = threads * iters * PeakFlops.FLOPS_PER_ITERATION / ns;
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
            gflops[r] = iters * PeakFlops.FLOPS_PER_ITERATION / (mx.getCurrentThreadCpuTime() - c0);
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
        return PeakFlops.fmaChains(iters);
    }
}
