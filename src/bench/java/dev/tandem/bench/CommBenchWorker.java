package dev.tandem.bench;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;

/**
 * The rank side of {@code tandem bench comm}, measured like nccl-tests and the MPI peer in
 * src/bench/mpi: one warm-up call (also sizes the trial), then {@link #TRIALS} trials of
 * back-to-back calls; a trial's time is the slowest rank's mean; rank 0 prints each trial, the
 * median and the spread. When the driver paces the run ({@link BenchTurns}), the warm-up is turn
 * 0 and each trial one more turn.
 */
final class CommBenchWorker {
    static final int TRIALS = 5;
    private static final double TRIAL_SECONDS = 0.05;
    private static final double WARM_UP_SECONDS = 3;
    private static final double QUIET_SECONDS = 1;
    private static final double MAX_WARM_UP_SECONDS = 60;

    private CommBenchWorker() {}

    /**
     * Rank 0 prints, per measurement, one {@code TRIAL op bytes k time} line per trial and then one
     * {@code RESULT op bytes median min max} line (times in µs) to {@code out}, all after the last
     * trial. Printing between trials ran code that the warm-up never ran, and the JIT compiled it
     * while later trials ran (the JIT log showed a 140 ms C2 compilation of the JDK's class-file
     * generator among them): the compiler thread took a bound rank's core for tens of milliseconds,
     * and 2-rank 1 KiB reduce-scatter trials came out at 1.5–2.1 ms a call instead of about 1 µs
     * (docs/notes/benchmarks-history.md, Round 8).
     */
    static void run(ProcessGroup g, List<String> ops, long minBytes, long maxBytes, BenchTurns.Seat seat, java.io.PrintStream out) {
        int n = g.size();
        long maxCount = maxBytes / 4 / n * n;
        List<Cell> cells = new java.util.ArrayList<>();
        try (OffHeap a = OffHeap.allocate(maxCount * 4, MemoryCategory.COMMUNICATION);
             OffHeap b = OffHeap.allocate(maxCount * 4, MemoryCategory.COMMUNICATION);
             Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(4);
            for (long i = 0; i < maxCount; i++) a.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, 1e-3f * (i % 1000));
            int turn = 0;
            seat.await(turn);
            warmUp(g, ops, a.segment(), b.segment(), maxCount, t);
            if (g.rank() == 0) seat.done(turn);
            for (String op : ops) {
                for (long bytes = minBytes; bytes <= maxBytes; bytes *= 4) {
                    long count = bytes / 4 / n * n; // divisible by n so every rank's block is equal
                    Runnable call = call(g, op, a.segment(), b.segment(), count);
                    int iters = 0;
                    double[] trials = new double[TRIALS];
                    for (int k = 0; k < TRIALS; k++) {
                        seat.await(++turn);
                        if (k == 0) { // sizes the trials; inside the first trial's turn, so the other side waits
                            g.barrier();
                            double warm = maxAcross(g, t, timed(call, 1) / 1e9);
                            iters = (int) Math.max(1, Math.min(1000, TRIAL_SECONDS / Math.max(warm, 1e-9)));
                        }
                        g.barrier();
                        trials[k] = maxAcross(g, t, timed(call, iters) / 1e9 / iters);
                        if (g.rank() == 0) seat.done(turn);
                    }
                    cells.add(new Cell(op, count * 4, trials));
                }
            }
        }
        if (g.rank() != 0) return;
        for (Cell c : cells) {
            for (int k = 0; k < TRIALS; k++) out.printf("TRIAL %s %d %d %.3f%n", c.op, c.bytes, k, c.trials[k] * 1e6);
            double[] sorted = c.trials.clone();
            Arrays.sort(sorted);
            out.printf("RESULT %s %d %.3f %.3f %.3f%n", c.op, c.bytes, sorted[TRIALS / 2] * 1e6, sorted[0] * 1e6, sorted[TRIALS - 1] * 1e6);
        }
        out.flush();
    }

    /** One measurement: an operation at one size, its trials in seconds per call, in the order run. */
    private record Cell(String op, long bytes, double[] trials) {}

    /**
     * Lets the JIT compile the whole path before anything is timed: rounds of calls at a few
     * sizes, each followed by the one-element MAX all-reduce the timing uses, for at least
     * {@link #WARM_UP_SECONDS} and until no rank has compiled anything for {@link #QUIET_SECONDS}.
     * Mixing the calls matters: a kernel that C2 compiled for one shape only (SUM, no remainder)
     * is thrown away at the first other shape and runs in the much slower profiling tier (the
     * Vector API reduction kernels especially) until it is compiled again, which could fall
     * inside a timed trial. Waiting for the compilers to go quiet matters where ranks outnumber
     * cores: there the compiler threads of 8 JVMs share 2 cores with the ranks, and after a fixed
     * 3 s an 8-rank 1 KiB all-gather still took 220–490 µs per call, falling to 30 µs about 6 s
     * later (docs/notes/benchmarks-history.md, Round 4).
     */
    private static void warmUp(ProcessGroup g, List<String> ops, MemorySegment a, MemorySegment b, long maxCount,
                               MemorySegment t) {
        int n = g.size();
        long[][] plan = {{1024, 100}, {4096, 50}, {256 * 1024, 10}, {4L << 20, 2}};
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean canTellQuiet = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime(), compiledMillis = canTellQuiet ? jit.getTotalCompilationTime() : 0;
        double elapsed, quietSince = 0;
        do {
            for (String op : ops) {
                for (long[] p : plan) {
                    long count = Math.min(Math.max(n, p[0] / 4 / n * n), maxCount);
                    Runnable call = call(g, op, a, b, count);
                    timed(call, p[1]);
                    g.barrier();
                    maxAcross(g, t, 0);
                }
            }
            elapsed = maxAcross(g, t, (System.nanoTime() - start) / 1e9);
            long now = canTellQuiet ? jit.getTotalCompilationTime() : compiledMillis;
            if (maxAcross(g, t, now - compiledMillis) > 0) quietSince = elapsed; // some rank compiled this round
            compiledMillis = now;
        } while (elapsed < WARM_UP_SECONDS || (elapsed - quietSince < QUIET_SECONDS && elapsed < MAX_WARM_UP_SECONDS));
        if (g.rank() == 0 && elapsed - quietSince < QUIET_SECONDS) {
            System.err.printf("bench comm: the JIT was still compiling after %.0f s of warm-up; the smallest messages may be timed too slow%n", elapsed);
        }
        try {
            Thread.sleep(1000); // let the JIT finish compiling in the background before anything is timed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        g.barrier();
    }

    /** Nanoseconds for {@code iters} calls; the warm-up runs the same loop, so it is compiled before any trial. */
    private static long timed(Runnable call, long iters) {
        long start = System.nanoTime();
        for (long i = 0; i < iters; i++) call.run();
        return System.nanoTime() - start;
    }

    private static Runnable call(ProcessGroup g, String op, MemorySegment a, MemorySegment b, long count) {
        int n = g.size();
        return switch (op) {
            case "all_reduce" -> () -> g.allReduce(a, DType.F32, count, ReduceOp.SUM);
            case "reduce_scatter" -> () -> g.reduceScatter(a, b, DType.F32, count / n, ReduceOp.SUM);
            case "all_gather" -> () -> g.allGather(a, b, DType.F32, count / n);
            default -> throw new IllegalArgumentException("unknown op " + op);
        };
    }

    private static double maxAcross(ProcessGroup g, MemorySegment t, double seconds) {
        t.set(ValueLayout.JAVA_FLOAT, 0, (float) seconds);
        g.allReduce(t, DType.F32, 1, ReduceOp.MAX);
        return t.get(ValueLayout.JAVA_FLOAT, 0);
    }
}
