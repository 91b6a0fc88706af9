package dev.tandem.bench.peer;

import dev.tandem.bench.BenchProgress;
import dev.tandem.bench.Benchmarks;
import dev.tandem.launch.Settings;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.bytedeco.javacpp.FloatPointer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench gemm}: Tandem's GEMM beside OpenBLAS {@code cblas_sgemm} on the same buffers,
 * same thread count, in the same run, with the machine's measured FMA peak as the ceiling.
 * Each shape is warmed up (JIT, caches), then timed in alternating Tandem/OpenBLAS repetitions
 * so that load from other processes hits both alike; the table shows medians.
 */
@Command(name = "gemm", mixinStandardHelpOptions = true, description = Benchmarks.GEMM_DESCRIPTION)
public final class GemmBenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--threads", description = "Threads for both Tandem and OpenBLAS (default: Tandem's, TANDEM_THREADS or all cores).")
    Integer threadsOption;

    /** The threads of this run: the option, else Tandem's default. */
    private int threads;

    @Option(names = "--reps", description = "Timed repetitions per shape and library (default: ${DEFAULT-VALUE}).")
    int reps = 7;

    @Option(names = "--seconds", description = "Minimum seconds per repetition (default: ${DEFAULT-VALUE}).")
    double seconds = 0.2;

    @Option(names = "--warmup", description = "Warm-up seconds per shape and library (default: ${DEFAULT-VALUE}).")
    double warmup = 0.4;

    @Option(names = "--cpu-time", description = "Time by this thread's CPU time instead of the wall clock (needs --threads=1):"
            + " on a machine shared with other work, this counts only the time the GEMM actually ran.")
    boolean cpuTime;

    @Option(names = "--only", description = "Run only shapes whose group contains this text: square, gpt2, default.")
    String only;

    @Override
    public void run() {
        try {
            bench();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void bench() throws Exception {
        threads = threadsOption != null ? threadsOption : Settings.of(spec.root().userObject()).compute().threads();
        if (cpuTime && threads != 1) {
            throw new dev.tandem.TandemException("--cpu-time measures the calling thread only: use it with --threads=1");
        }
        try (WorkerPool pool = new WorkerPool(threads)) {
            bench(Kernels.fast(pool));
        }
    }

    private void bench(Kernels tandem) throws Exception {
        OpenBlas.init(threads);

        List<GemmShape> shapes = new ArrayList<>(GemmShape.squares(256, 512, 1024, 1536, 2048));
        // GPT-2 small (C=768, 12 heads, T=1024, B·T=2048) and Tandem's default training model
        // (C=192, 4 heads, T=128, batch 16: B·T=2048, vocabulary 2048).
        shapes.addAll(GemmShape.gpt2("gpt2-768", 768, 2048, 1024, 12, 50257));
        shapes.addAll(GemmShape.gpt2("default-192", 192, 2048, 128, 4, 2048));
        if (only != null) shapes.removeIf(s -> !s.group().contains(only));

        System.out.println("Tandem GEMM vs OpenBLAS cblas_sgemm: float32, row-major, " + threads + " thread(s) each");
        System.out.println("machine:  " + MachineInfo.describe());
        System.out.println("load:     " + MachineInfo.loadAverage() + " (1/5/15-min load average before the run)");
        System.out.println("java:     " + Runtime.version() + ", vector species " + FloatVector.SPECIES_PREFERRED);
        System.out.println("openblas: " + OpenBlas.config() + "; kernel " + OpenBlas.coreName()
                + "; threads " + OpenBlas.threads()
                + "; OPENBLAS_CORETYPE=" + System.getenv().getOrDefault("OPENBLAS_CORETYPE", "(unset)"));
        warmUpJit(tandem);
        Stats peak = cpuTime ? FmaPeak.measureCpuTime(5, 0.5) : FmaPeak.measure(threads, 5, 0.5);
        System.out.printf("peak:     %.1f GFLOPS measured FMA throughput on %d thread(s) (median of 5, %.1f–%.1f)%s%n%n",
                peak.median(), threads, peak.min(), peak.max(), cpuTime ? "; all GFLOPS per CPU-second" : "");

        System.out.printf("%-12s %-15s %-2s %5s %5s %5s %5s | %8s %8s %6s | %7s %7s | %s%n",
                "group", "shape", "op", "batch", "m", "n", "k", "Tandem", "OpenBLAS", "ratio", "T %peak", "O %peak",
                "Tandem min–max / OpenBLAS min–max");
        List<Double> transformerRatios = new ArrayList<>();
        BenchProgress progress = new BenchProgress("gemm", shapes.size(), System.err);
        for (GemmShape s : shapes) {
            progress.next(s.group() + " " + s.name());
            Stats[] r = measure(tandem, s);
            Stats t = r[0], o = r[1];
            double ratio = t.median() / o.median();
            if (!s.group().equals("square")) transformerRatios.add(ratio);
            System.out.printf("%-12s %-15s %-2s %5d %5d %5d %5d | %8.1f %8.1f %5.2fx | %6.0f%% %6.0f%% | %.0f–%.0f / %.0f–%.0f%n",
                    s.group(), s.name(), s.op(), s.batch(), s.m(), s.n(), s.k(), t.median(), o.median(), ratio,
                    100 * t.median() / peak.median(), 100 * o.median() / peak.median(), t.min(), t.max(), o.min(), o.max());
        }
        if (!transformerRatios.isEmpty()) {
            double logSum = 0;
            for (double x : transformerRatios) logSum += Math.log(x);
            System.out.printf("%ntransformer shapes: geometric-mean Tandem/OpenBLAS = %.2fx over %d shapes%n",
                    Math.exp(logSum / transformerRatios.size()), transformerRatios.size());
        }
        System.out.println("load after: " + MachineInfo.loadAverage());
    }

    /**
     * Gets every GEMM path C2-compiled before anything is timed: all four transposes, edge
     * tiles, beta 0 and 1, batched and not. Without it the first shapes measure the interpreter.
     */
    private void warmUpJit(Kernels tandem) {
        List<GemmShape> warm = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            warm.add(new GemmShape("warm", "", 1, (t & 1) != 0, (t & 2) != 0, 301, 283, 517, t < 2 ? 0f : 1f));
        }
        warm.add(new GemmShape("warm", "", 8, false, true, 128, 128, 48, 0f));
        double saved = warmup;
        int savedReps = reps;
        warmup = 1.0;
        reps = 1;
        for (GemmShape s : warm) measure(tandem, s);
        warmup = saved;
        reps = savedReps;
    }

    /** Median GFLOPS of Tandem ([0]) and OpenBLAS ([1]) on one shape, same buffers. */
    private Stats[] measure(Kernels tandem, GemmShape s) {
        int lda = s.transA() ? s.m() : s.k(), ldb = s.transB() ? s.k() : s.n(), ldc = s.n();
        long strideA = (long) s.m() * s.k(), strideB = (long) s.k() * s.n(), strideC = (long) s.m() * s.n();
        try (FloatPointer pa = new FloatPointer(s.batch() * strideA);
             FloatPointer pb = new FloatPointer(s.batch() * strideB);
             FloatPointer pc = new FloatPointer(s.batch() * strideC);
             FloatPointer va = new FloatPointer(pa); FloatPointer vb = new FloatPointer(pb); FloatPointer vc = new FloatPointer(pc)) {
            MemorySegment a = segment(pa, s.batch() * strideA), b = segment(pb, s.batch() * strideB);
            MemorySegment c = segment(pc, s.batch() * strideC);
            SplittableRandom rng = new SplittableRandom(42);
            fill(a, rng);
            fill(b, rng);
            fill(c, rng);
            Runnable ours = () -> {
                if (s.batch() == 1) {
                    tandem.gemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, a, 0, lda, b, 0, ldb, s.beta(), c, 0, ldc);
                } else {
                    tandem.gemmBatched(s.batch(), s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, a, 0, lda, strideA,
                            b, 0, ldb, strideB, s.beta(), c, 0, ldc, strideC);
                }
            };
            // OpenBLAS has no strided-batched sgemm in its CBLAS: one call per problem, each using
            // all its threads (what a framework on top of plain OpenBLAS does).
            Runnable theirs = () -> {
                for (int i = 0; i < s.batch(); i++) {
                    va.position(i * strideA);
                    vb.position(i * strideB);
                    vc.position(i * strideC);
                    OpenBlas.sgemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, va, lda, vb, ldb, s.beta(), vc, ldc);
                }
            };
            timeFor(ours, warmup);
            timeFor(theirs, warmup);
            double[] t = new double[reps], o = new double[reps];
            for (int r = 0; r < reps; r++) {
                awaitOpenBlasIdle();
                t[r] = s.flops() / timeFor(ours, seconds);
                o[r] = s.flops() / timeFor(theirs, seconds);
            }
            return new Stats[] {Stats.of(t), Stats.of(o)};
        }
    }

    /**
     * Waits until OpenBLAS's workers have stopped spinning. After a call they busy-wait for the
     * next one for 2^28 cycles (its default thread timeout, about 0.13 s here) before they sleep;
     * timed right after OpenBLAS, Tandem's second thread shared its core with a spinning worker
     * (measured: 1024² at 81 GFLOP/s in the bench, 222–243 alone). Tandem's idle workers park at
     * once, so OpenBLAS needs no such pause.
     */
    private static void awaitOpenBlasIdle() {
        try {
            Thread.sleep(400);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs {@code call} until {@code seconds} have passed (at least once); returns ns per call,
     * of wall-clock time or, with {@code --cpu-time}, of this thread's CPU time.
     */
    private double timeFor(Runnable call, double seconds) {
        long budget = (long) (seconds * 1e9), t0 = System.nanoTime(), c0 = cpuNanos(), n = 0, elapsed;
        do {
            call.run();
            n++;
            elapsed = System.nanoTime() - t0;
        } while (elapsed < budget);
        return (double) (cpuTime ? cpuNanos() - c0 : elapsed) / n;
    }

    private static long cpuNanos() {
        return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }

    static MemorySegment segment(FloatPointer p, long floats) {
        return MemorySegment.ofAddress(p.address()).reinterpret(4 * floats);
    }

    private static void fill(MemorySegment s, SplittableRandom rng) {
        for (long i = 0; i < s.byteSize() / 4; i++) s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) (rng.nextDouble() * 2 - 1));
    }
}
