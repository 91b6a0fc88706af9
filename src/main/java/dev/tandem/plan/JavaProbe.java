package dev.tandem.plan;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A small, self-contained probe: a cache-blocked float32 matmul on all cores (the JIT vectorizes
 * its inner loop) for GEMM throughput, and {@link MemorySegment#copy} for memory bandwidth (all
 * cores) and for a one-core copy, which is what a shared-memory transport does per message. Best
 * of a few repetitions after a warm-up; about a second in total.
 */
public final class JavaProbe implements DeviceProbe {
    private static final int N = 768, BLOCK = 64, REPEATS = 3;
    private static final long COPY_BYTES = 128L << 20;

    @Override
    public Measurement measure() {
        int cores = Runtime.getRuntime().availableProcessors();
        long memory = physicalMemory();
        try (ExecutorService pool = Executors.newFixedThreadPool(cores)) {
            double gemm = gemmFlops(pool, cores);
            double copy = copyBandwidth(pool, 1);
            // All cores should stream at least as fast as one; on a busy machine they may not.
            double mem = Math.max(copy, copyBandwidth(pool, cores));
            return new Measurement(gemm, mem, copy, cores, memory,
                    "blocked float32 matmul " + N + "³ on " + cores + " threads; MemorySegment.copy of " + (COPY_BYTES >> 20) + " MiB");
        }
    }

    private static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    private static double gemmFlops(ExecutorService pool, int threads) {
        float[] a = new float[N * N], b = new float[N * N], c = new float[N * N];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 7) * 0.1f;
            b[i] = (i % 5) * 0.2f;
        }
        double best = 0;
        for (int rep = 0; rep < REPEATS + 1; rep++) {
            long t0 = System.nanoTime();
            List<Future<?>> parts = new ArrayList<>();
            int rowsPer = (N + threads - 1) / threads;
            for (int t = 0; t < threads; t++) {
                int from = t * rowsPer, to = Math.min(N, from + rowsPer);
                parts.add(pool.submit(() -> matmulRows(a, b, c, from, to)));
            }
            join(parts);
            double secs = (System.nanoTime() - t0) / 1e9;
            if (rep > 0) best = Math.max(best, 2.0 * N * N * N / secs); // rep 0 warms up the JIT
        }
        return best;
    }

    /** c[from..to) += a·b, blocked over k and j so a block of b stays in cache. */
    static void matmulRows(float[] a, float[] b, float[] c, int from, int to) {
        for (int kk = 0; kk < N; kk += BLOCK) {
            for (int jj = 0; jj < N; jj += BLOCK) {
                for (int i = from; i < to; i++) {
                    int ci = i * N;
                    for (int k = kk; k < kk + BLOCK; k++) {
                        float aik = a[ci + k];
                        int bk = k * N;
                        for (int j = jj; j < jj + BLOCK; j++) c[ci + j] += aik * b[bk + j];
                    }
                }
            }
        }
    }

    /** Read + write bytes per second of {@code threads} concurrent copies of COPY_BYTES/threads each. */
    private static double copyBandwidth(ExecutorService pool, int threads) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(COPY_BYTES, 64), dst = arena.allocate(COPY_BYTES, 64);
            src.fill((byte) 1);
            dst.fill((byte) 0);
            long slice = COPY_BYTES / threads / ValueLayout.JAVA_LONG.byteSize() * ValueLayout.JAVA_LONG.byteSize();
            double best = 0;
            for (int rep = 0; rep < REPEATS + 1; rep++) {
                long t0 = System.nanoTime();
                List<Future<?>> parts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long off = t * slice;
                    parts.add(pool.submit(() -> MemorySegment.copy(src, off, dst, off, slice)));
                }
                join(parts);
                double secs = (System.nanoTime() - t0) / 1e9;
                if (rep > 0) best = Math.max(best, 2.0 * slice * threads / secs);
            }
            return best;
        }
    }

    private static void join(List<Future<?>> parts) {
        try {
            for (Future<?> f : parts) f.get();
        } catch (Exception e) {
            throw new IllegalStateException("calibration probe failed", e);
        }
    }
}
