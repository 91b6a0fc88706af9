package dev.tandem.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH view of the GEMM micro-kernel alone: one MR×NR tile over {@code kc} steps of packed panels
 * that stay in L1, so the number is the kernel's ceiling (GFLOPS = 2·MR·NR·kc / ns per op).
 * The end-to-end table is {@code ./tandem bench gemm}.
 *
 * <p>Run: {@code java -cp 'target-bench/tandem.jar:target-bench/lib/*' org.openjdk.jmh.Main GemmKernelBenchmark}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmKernelBenchmark {
    @Param({"64", "256", "768"})
    int kc;

    float[] pa;
    float[] pb;
    Arena arena;
    MemorySegment c;

    @Setup
    public void setup() {
        pa = new float[GemmKernel.MR * kc];
        pb = new float[GemmKernel.NR * kc];
        for (int i = 0; i < pa.length; i++) pa[i] = (float) Math.sin(i);
        for (int i = 0; i < pb.length; i++) pb[i] = (float) Math.cos(i);
        arena = Arena.ofConfined();
        c = arena.allocate(4L * GemmKernel.MR * GemmKernel.NR, 64);
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    /** C += A·B on one tile (beta 1: the path of every k slice after the first). */
    @Benchmark
    public void tileAccumulate() {
        GemmKernel.tile(kc, pa, 0, pb, 0, c, 0, 4L * GemmKernel.NR, 1f, 1f, null);
    }
}
