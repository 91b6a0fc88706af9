package dev.tandem.train;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** The end-of-run summary: final losses, median throughput and memory. */
final class StepSummary {
    private StepSummary() {}

    /** Steps after warm-up: the first ones include JIT compilation and are not representative. */
    private static List<StepMetrics> warm(List<StepMetrics> steps) {
        return steps.size() > 10 ? steps.subList(Math.min(5, steps.size() / 10), steps.size()) : steps;
    }

    static double medianStepMs(List<StepMetrics> steps) {
        return median(warm(steps).stream().mapToDouble(StepMetrics::stepMs).sorted().toArray());
    }

    static void print(PrintStream out, List<StepMetrics> steps, List<EvalMetrics> evals, Path runDir) {
        List<StepMetrics> warm = warm(steps);
        double[] ms = warm.stream().mapToDouble(StepMetrics::stepMs).sorted().toArray();
        double[] tps = warm.stream().mapToDouble(StepMetrics::tokensPerSecond).sorted().toArray();
        double[] mfu = warm.stream().mapToDouble(StepMetrics::mfu).sorted().toArray();
        StepMetrics last = steps.getLast();
        out.println("---");
        if (!evals.isEmpty()) {
            EvalMetrics e = evals.getLast();
            out.printf("final: train loss %.4f | val loss %.4f nats | %.4f bits/byte%n", last.loss(), e.loss(), e.bitsPerByte());
        }
        out.printf("speed: median %.0f ms/step, %.0f tok/s, %.1f%% MFU (p10–p90 %.0f–%.0f ms)%n",
                median(ms), median(tps), 100 * median(mfu), ms[(int) (0.1 * (ms.length - 1))], ms[(int) (0.9 * (ms.length - 1))]);
        out.println("memory at end (activations: peak in step): " + Memory.format(last.memoryBytes()));
        out.println("metrics: " + runDir.resolve("metrics.jsonl") + ", plot: " + runDir.resolve("loss.png"));
    }

    static double median(double[] sorted) {
        if (sorted.length == 0) return Double.NaN;
        double[] s = Arrays.copyOf(sorted, sorted.length);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
