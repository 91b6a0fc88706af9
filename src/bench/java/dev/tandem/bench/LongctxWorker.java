package dev.tandem.bench;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.launch.Rendezvous;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.parallel.context.BalanceScheduler;
import dev.tandem.parallel.context.CostProbe;
import dev.tandem.parallel.context.HybridStep;
import dev.tandem.parallel.context.SequenceCost;
import dev.tandem.parallel.context.StepSchedule;
import dev.tandem.parallel.context.TokenSequence;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.WorkerPool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The rank side of {@code tandem bench longctx}. Every rank builds the same mix and the same
 * model: the bundled text encoded with the bundled tokenizer, cut into documents whose lengths
 * come from {@code seed} (per step one long document, uniform in [longMin, longMax], and short
 * ones 16 + an exponential of mean 150 tokens, at most 512), at offsets from the same seed. Each
 * row runs warm-up then timed steps; rank 0 prints one RESULT line per row: tokens/s over all
 * timed steps (a step's time is its slowest rank's), the padding fraction, the busiest rank's
 * compute seconds over the mean (summed over the steps), and the largest rank's peak of live
 * activation bytes.
 */
final class LongctxWorker {
    record Settings(int steps, int warmup, int sequences, int longMin, int longMax, int rows, int nLayer, int nEmbd, int nHead, long seed) {}

    private LongctxWorker() {}

    static void run(Settings s) {
        int threads = Rendezvous.bindToCores(System.getenv());
        try (ProcessGroup world = Rendezvous.fromEnvironment(System.getenv()); WorkerPool pool = new WorkerPool(threads)) {
            int ranks = world.size(), capacity = s.longMax() / ranks;
            List<List<TokenSequence>> steps = mix(s);
            GPTConfig config = new GPTConfig(s.nLayer(), s.nHead(), s.nEmbd(), 2048, s.longMax());
            try (GPT model = GPT.initialized(config, 1); HybridStep step = new HybridStep(world, Kernels.fast(pool), RecomputePolicy.SELECTIVE)) {
                SequenceCost cost = CostProbe.measure(model, Kernels.fast(pool), world);
                if (world.rank() == 0) {
                    boolean measured = !cost.equals(SequenceCost.of(config));
                    System.err.printf(Locale.ROOT, "bench longctx: hybrid balances %s: %.3g per token + %.3g per (query, key) pair%n",
                            measured ? "measured seconds" : "FLOPs (no positive timing fit)", cost.perToken(), cost.perPair());
                }
                record Row(String name, Function<int[], StepSchedule> schedule) {}
                List<Row> rows = List.of(
                        new Row("DP + padding", l -> BalanceScheduler.padded(l, ranks, s.rows())),
                        new Row("static CP (cp=" + ranks + ")", l -> BalanceScheduler.staticContext(l, ranks, ranks, capacity)),
                        new Row("hybrid DP/CP (ByteScale)", l -> BalanceScheduler.hybrid(l, ranks, capacity, cost)));
                for (Row row : rows) {
                    if (world.rank() == 0) System.err.println("bench longctx: " + row.name() + "...");
                    double tokens = 0, time = 0, padding = 0, busiest = 0, mean = 0, peak = 0;
                    for (int i = 0; i < s.warmup() + s.steps(); i++) {
                        List<TokenSequence> batch = steps.get(i);
                        int[] lengths = batch.stream().mapToInt(TokenSequence::length).toArray();
                        StepSchedule schedule = row.schedule().apply(lengths);
                        model.zeroGrad();
                        MemoryAccounting.current().resetPeaks();
                        world.barrier();
                        long t0 = System.nanoTime();
                        step.run(model, batch, schedule);
                        double seconds = (System.nanoTime() - t0) / 1e9;
                        double[] compute = gather(world, step.computeSeconds());
                        double rankPeak = MemoryAccounting.current().peak(MemoryCategory.ACTIVATIONS);
                        if (i < s.warmup()) continue;
                        time += max(world, seconds);
                        tokens += Arrays.stream(lengths).sum();
                        padding += schedule.paddingTokens(lengths);
                        busiest += Arrays.stream(compute).max().orElseThrow();
                        mean += Arrays.stream(compute).average().orElseThrow();
                        peak = Math.max(peak, max(world, rankPeak));
                    }
                    double rate = tokens / time, padFraction = padding / (tokens + padding);
                    if (world.rank() == 0) {
                        System.out.printf(Locale.ROOT, "RESULT %s\t%.1f\t%.4f\t%.3f\t%.0f%n", row.name(), rate, padFraction, busiest / mean, peak);
                    }
                }
            }
        }
    }

    /** The steps' documents, the same on every rank. */
    static List<List<TokenSequence>> mix(Settings s) {
        Tokenizer tokenizer = TokenizerJson.load(Path.of("data/tokenizer-shakespeare-2k.json"));
        int[] text;
        try {
            text = tokenizer.encode(Files.readString(Path.of("data/tinyshakespeare.txt")));
        } catch (IOException e) {
            throw new UncheckedIOException("the bench reads the bundled data/tinyshakespeare.txt (run it from the repository)", e);
        }
        SplittableRandom rng = new SplittableRandom(s.seed());
        List<List<TokenSequence>> out = new ArrayList<>();
        for (int step = 0; step < s.warmup() + s.steps(); step++) {
            List<TokenSequence> batch = new ArrayList<>();
            for (int d = 0; d < s.sequences(); d++) {
                int length = d == 0 ? s.longMin() + rng.nextInt(s.longMax() - s.longMin() + 1)
                        : (int) Math.min(512, 16 - 150 * Math.log(1 - rng.nextDouble()));
                int start = rng.nextInt(text.length - length - 1);
                batch.add(TokenSequence.of(Arrays.copyOfRange(text, start, start + length + 1)));
            }
            out.add(batch);
        }
        return out;
    }

    private static double[] gather(ProcessGroup world, double value) {
        try (Tensor in = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, 1);
             Tensor out = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, world.size())) {
            in.set(0, (float) value);
            world.allGather(in.data(), out.data(), DType.F32, 1);
            double[] all = new double[world.size()];
            for (int r = 0; r < all.length; r++) all[r] = out.get(r);
            return all;
        }
    }

    private static double max(ProcessGroup world, double value) {
        try (Tensor t = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, 1)) {
            t.set(0, (float) value);
            world.allReduce(t.data(), DType.F32, 1, ReduceOp.MAX);
            return t.get(0);
        }
    }
}
