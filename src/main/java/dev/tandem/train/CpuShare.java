package dev.tandem.train;

import java.lang.management.ManagementFactory;

/**
 * The share of {@code threads} threads' time this process got from the operating system since
 * {@link #start}: process CPU time ÷ (wall time × threads), at most 1. On a machine that other work
 * shares, a probe and a training run get different shares, and rates measured in one do not hold
 * in the other unless both are known.
 */
record CpuShare(long cpuNanos, long wallNanos, int threads) {

    static CpuShare start(int threads) {
        return new CpuShare(processCpuNanos(), System.nanoTime(), Math.max(1, threads));
    }

    /** The share since the start; 1 where the platform does not report process CPU time. */
    double share() {
        long cpu = processCpuNanos(), wall = System.nanoTime() - wallNanos;
        if (cpu < 0 || cpuNanos < 0 || wall <= 0) return 1;
        return Math.max(1e-3, Math.min(1, (double) (cpu - cpuNanos) / ((double) wall * threads)));
    }

    private static long processCpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : -1;
    }
}
