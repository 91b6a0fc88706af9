package dev.tandem.bench.peer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One threading configuration of the PyTorch peer. The libtorch build runs its own ops on an
 * OpenMP pool ({@code intraOp} threads) and its matmuls on a separate pthreads OpenBLAS pool
 * ({@code blasThreads}); idle OpenMP workers spin or sleep by {@code OMP_WAIT_POLICY}, idle
 * OpenBLAS workers by {@code OPENBLAS_THREAD_TIMEOUT}. On a 2-core machine the two pools compete
 * for the cores, and which setting is best depends on the model's shape (measured: 0.75 to 5.1 s
 * per step for the same model), so {@code bench train} tries them all and compares with the best.
 */
record PeerConfig(int intraOp, int blasThreads, boolean activeWait) {

    /** Every combination of 1 or all threads per pool and both wait policies. */
    static List<PeerConfig> grid(int threads) {
        List<Integer> counts = threads == 1 ? List.of(1) : List.of(1, threads);
        List<PeerConfig> grid = new ArrayList<>();
        for (int intra : counts) {
            for (int blas : counts) {
                for (boolean active : new boolean[] {false, true}) grid.add(new PeerConfig(intra, blas, active));
            }
        }
        return grid;
    }

    /** What the earlier benches used: all threads in both pools, idle workers asleep. */
    static PeerConfig sleeping(int threads) {
        return new PeerConfig(threads, threads, false);
    }

    /**
     * The peer's environment for this configuration. OpenMP and OpenBLAS read these when they
     * load, before any API call could change them. A timeout of 2^4 cycles makes idle OpenBLAS
     * workers sleep at once; without it they spin for OpenBLAS's default 2^28 cycles.
     */
    Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("OMP_NUM_THREADS", Integer.toString(intraOp));
        env.put("OPENBLAS_NUM_THREADS", Integer.toString(blasThreads));
        env.put("OMP_WAIT_POLICY", activeWait ? "ACTIVE" : "PASSIVE");
        if (!activeWait) env.put("OPENBLAS_THREAD_TIMEOUT", "4");
        return env;
    }

    /** Variables that {@link #environment} leaves out and that must not leak in from the caller's. */
    static List<String> controlled() {
        return List.of("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT");
    }

    String label() {
        return String.format("intra-op %d, OpenBLAS %d, %s", intraOp, blasThreads, activeWait ? "spinning" : "sleeping");
    }
}
